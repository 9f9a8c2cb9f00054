package dev.legato.storage.replica;

import com.typesafe.config.Config;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * Replicas in an S3 bucket (AWS or any S3-compatible store), under a key prefix, laid out as Litestream's
 * {@code s3} replica type. An object is one PutObject, so a reader never sees half of it; its time is the
 * store's LastModified. Every call is bounded: a few attempts with backoff, each with its own timeout, inside
 * an overall timeout, so a hung store fails a call with an {@link IOException} instead of holding its thread.
 */
public final class S3Target implements ReplicaTarget {
  /** DeleteObjects takes at most this many keys a request. */
  static final int DELETE_BATCH = 1000;

  private final Settings settings;
  private final AwsCredentialsProvider credentials;
  private final S3Client client;

  /**
   * How to reach the bucket. {@code endpoint} null means AWS's own endpoint for the region; {@code prefix} is
   * the key prefix every object goes under ({@code ""} for the bucket's root), with its slashes normalised;
   * credentials null means the SDK's default chain (environment, profile, container, instance).
   */
  public record Settings(
      URI endpoint,
      String bucket,
      String prefix,
      String region,
      String accessKeyId,
      String secretAccessKey,
      boolean pathStyle,
      int maxAttempts,
      Duration callTimeout,
      Duration attemptTimeout) {

    public static final String DEFAULT_REGION = "us-east-1";
    public static final int DEFAULT_MAX_ATTEMPTS = 4;
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(10);

    public Settings {
      if (bucket == null || bucket.isBlank()) {
        throw new IllegalArgumentException("an S3 replica target needs a bucket");
      }
      if (endpoint != null && (endpoint.getScheme() == null || endpoint.getHost() == null)) {
        throw new IllegalArgumentException("S3 endpoint '" + endpoint + "' is not an absolute http(s) URL");
      }
      if ((accessKeyId == null) != (secretAccessKey == null)) {
        throw new IllegalArgumentException("S3 credentials need both an access key id and a secret access key");
      }
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("S3 max attempts must be at least 1, not " + maxAttempts);
      }
      Objects.requireNonNull(callTimeout, "callTimeout");
      Objects.requireNonNull(attemptTimeout, "attemptTimeout");
      if (callTimeout.isNegative() || callTimeout.isZero() || attemptTimeout.isNegative() || attemptTimeout.isZero()) {
        throw new IllegalArgumentException("S3 timeouts must be positive");
      }
      prefix = normalisePrefix(prefix);
      region = region == null || region.isBlank() ? DEFAULT_REGION : region;
    }

    /** Defaults: no prefix, us-east-1, the default credentials chain, path-style when an endpoint is given. */
    public static Settings of(URI endpoint, String bucket) {
      return new Settings(endpoint, bucket, "", DEFAULT_REGION, null, null, endpoint != null,
          DEFAULT_MAX_ATTEMPTS, DEFAULT_CALL_TIMEOUT, DEFAULT_ATTEMPT_TIMEOUT);
    }

    public Settings withPrefix(String newPrefix) {
      return new Settings(endpoint, bucket, newPrefix, region, accessKeyId, secretAccessKey, pathStyle,
          maxAttempts, callTimeout, attemptTimeout);
    }

    public Settings withRegion(String newRegion) {
      return new Settings(endpoint, bucket, prefix, newRegion, accessKeyId, secretAccessKey, pathStyle,
          maxAttempts, callTimeout, attemptTimeout);
    }

    public Settings withCredentials(String newAccessKeyId, String newSecretAccessKey) {
      return new Settings(endpoint, bucket, prefix, region, newAccessKeyId, newSecretAccessKey, pathStyle,
          maxAttempts, callTimeout, attemptTimeout);
    }

    public Settings withPathStyle(boolean newPathStyle) {
      return new Settings(endpoint, bucket, prefix, region, accessKeyId, secretAccessKey, newPathStyle,
          maxAttempts, callTimeout, attemptTimeout);
    }

    /** {@code attempts} tries a call (the first one included), each cut at {@code attempt}, all within {@code call}. */
    public Settings withRetries(int attempts, Duration call, Duration attempt) {
      return new Settings(endpoint, bucket, prefix, region, accessKeyId, secretAccessKey, pathStyle,
          attempts, call, attempt);
    }

    @Override
    public String toString() {
      // never print the secret
      return "Settings[endpoint=" + endpoint + ", bucket=" + bucket + ", prefix=" + prefix + ", region=" + region
          + ", accessKeyId=" + accessKeyId + ", pathStyle=" + pathStyle + ", maxAttempts=" + maxAttempts
          + ", callTimeout=" + callTimeout + ", attemptTimeout=" + attemptTimeout + "]";
    }
  }

  public S3Target(Settings settings) {
    this.settings = settings;
    this.credentials = settings.accessKeyId() == null
        ? DefaultCredentialsProvider.builder().build()
        : StaticCredentialsProvider.create(AwsBasicCredentials.create(settings.accessKeyId(), settings.secretAccessKey()));
    this.client = buildClient(settings, credentials);
  }

  /**
   * A target from a config block with the keys {@code url} (the endpoint, such as {@code http://127.0.0.1:9000}
   * or {@code https://s3.eu-west-1.amazonaws.com}; absent or null for AWS's own), {@code bucket} (required),
   * {@code prefix}, {@code region}, {@code access-key-id} and {@code secret-access-key} (absent or null: the
   * SDK's default credentials chain).
   */
  public static S3Target fromConfig(Config s3) {
    String bucket = optionalString(s3, "bucket");
    if (bucket == null) {
      throw new IllegalArgumentException("the S3 replica settings have no 'bucket'"
          + (s3.origin() != null ? " (" + s3.origin().description() + ")" : ""));
    }
    String url = optionalString(s3, "url");
    URI endpoint;
    try {
      endpoint = url == null ? null : URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the S3 replica 'url' '" + url + "' is not a URL", e);
    }
    Settings settings = Settings.of(endpoint, bucket)
        .withPrefix(optionalString(s3, "prefix"))
        .withRegion(optionalString(s3, "region"))
        .withCredentials(optionalString(s3, "access-key-id"), optionalString(s3, "secret-access-key"));
    if (s3.hasPath("attempts") && s3.hasPath("call-timeout") && s3.hasPath("attempt-timeout")) {
      settings = settings.withRetries(s3.getInt("attempts"), s3.getDuration("call-timeout"), s3.getDuration("attempt-timeout"));
    }
    return new S3Target(settings);
  }

  public Settings settings() {
    return settings;
  }

  @Override
  public void put(String key, byte[] body, Instant time) throws IOException {
    // time is not kept: S3 sets LastModified to the moment of the upload
    String objectKey = objectKey(key);
    try {
      // the body as it is, not a copy (RequestBody.fromBytes copies it): nothing changes a body once it is put
      client.putObject(b -> b.bucket(settings.bucket()).key(objectKey).contentLength((long) body.length)
          .contentType("application/octet-stream"),
          RequestBody.fromContentProvider(() -> new ByteArrayInputStream(body), body.length, "application/octet-stream"));
    } catch (SdkException e) {
      throw failure("PutObject", objectKey, e);
    }
  }

  @Override
  public byte[] get(String key) throws IOException {
    String objectKey = objectKey(key);
    try {
      return client.getObjectAsBytes(b -> b.bucket(settings.bucket()).key(objectKey)).asByteArray();
    } catch (NoSuchKeyException e) {
      NoSuchFileException missing = new NoSuchFileException(where(objectKey), null, "no such object");
      missing.initCause(e);
      throw missing;
    } catch (SdkException e) {
      throw failure("GetObject", objectKey, e);
    }
  }

  @Override
  public List<Entry> list(String prefix) throws IOException {
    String objectPrefix = objectPrefix(prefix);
    List<Entry> entries = new ArrayList<>();
    try {
      ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(settings.bucket()).prefix(objectPrefix).build();
      for (ListObjectsV2Response page : client.listObjectsV2Paginator(request)) {
        for (S3Object object : page.contents()) {
          entries.add(new Entry(relativeKey(object.key()), object.size(), object.lastModified()));
        }
      }
    } catch (SdkException e) {
      throw failure("ListObjectsV2", objectPrefix, e);
    }
    // S3 sorts by UTF-8 bytes; the contract is Java's string order (they differ only past the BMP)
    entries.sort(Comparator.comparing(Entry::key));
    return entries;
  }

  @Override
  public List<String> children(String prefix) throws IOException {
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      throw new IllegalArgumentException("children takes a prefix that ends with '/', not '" + prefix + "'");
    }
    String objectPrefix = objectPrefix(prefix);
    List<String> names = new ArrayList<>();
    try {
      ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(settings.bucket()).prefix(objectPrefix)
          .delimiter("/").build();
      for (ListObjectsV2Response page : client.listObjectsV2Paginator(request)) {
        for (CommonPrefix common : page.commonPrefixes()) {
          String name = common.prefix().substring(objectPrefix.length());
          names.add(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
        }
      }
    } catch (SdkException e) {
      throw failure("ListObjectsV2", objectPrefix, e);
    }
    names.sort(null);
    return names;
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    for (int from = 0; from < keys.size(); from += DELETE_BATCH) {
      List<ObjectIdentifier> batch = new ArrayList<>();
      for (String key : keys.subList(from, Math.min(keys.size(), from + DELETE_BATCH))) {
        batch.add(ObjectIdentifier.builder().key(objectKey(key)).build());
      }
      String first = batch.get(0).key();
      DeleteObjectsResponse response;
      try {
        response = client.deleteObjects(b -> b.bucket(settings.bucket())
            .delete(Delete.builder().objects(batch).quiet(true).build()));
      } catch (SdkException e) {
        throw failure("DeleteObjects (" + batch.size() + " keys)", first, e);
      }
      // a missing key is no error on S3; anything listed here is a real refusal (access, internal error)
      List<S3Error> errors = response.errors().stream().filter(error -> !"NoSuchKey".equals(error.code())).toList();
      if (!errors.isEmpty()) {
        S3Error error = errors.get(0);
        throw new IOException("S3 DeleteObjects of " + where(error.key()) + " failed: " + error.code() + ": "
            + error.message() + (errors.size() > 1 ? " (and " + (errors.size() - 1) + " more keys)" : ""));
      }
    }
  }

  @Override
  public String describe() {
    return "s3://" + settings.bucket() + (settings.prefix().isEmpty() ? "" : "/" + settings.prefix())
        + (settings.endpoint() == null ? "" : " at " + settings.endpoint());
  }

  @Override
  public String litestreamUrl(String root) {
    String path = join(settings.prefix(), normalisePrefix(root));
    URI endpoint = settings.endpoint();
    if (endpoint != null && isLoopback(endpoint.getHost())) {
      // Litestream v0.3.13 ignores ?endpoint= in a replica URL and takes only a few host forms as an endpoint;
      // for a local store the one that works is <bucket>.localhost[:port], which it reads as http://localhost[:port]
      // with path-style requests and us-east-1 (s3.ParseHost). Other endpoints need a litestream config file.
      String port = endpoint.getPort() < 0 ? "" : ":" + endpoint.getPort();
      return "s3://" + settings.bucket() + ".localhost" + port + (path.isEmpty() ? "" : "/" + path);
    }
    return "s3://" + settings.bucket() + (path.isEmpty() ? "" : "/" + path);
  }

  @Override
  public void close() {
    // the client closes the HTTP client it built, not the credentials provider it was given
    client.close();
    if (credentials instanceof SdkAutoCloseable closeable) {
      closeable.close();
    }
  }

  @Override
  public String toString() {
    return "S3Target[" + describe() + "]";
  }

  private static S3Client buildClient(Settings settings, AwsCredentialsProvider credentials) {
    S3ClientBuilder builder = S3Client.builder()
        .region(Region.of(settings.region()))
        .credentialsProvider(credentials)
        .forcePathStyle(settings.pathStyle())
        .httpClientBuilder(UrlConnectionHttpClient.builder()
            .connectionTimeout(settings.attemptTimeout())
            .socketTimeout(settings.attemptTimeout()))
        .overrideConfiguration(o -> o
            // the standard mode, without its retry quota: every call gets its attempts whatever the calls before
            // it met, and the replication that calls us paces itself
            .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                .circuitBreakerEnabled(false)
                .maxAttempts(settings.maxAttempts())
                .backoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(100), Duration.ofSeconds(5)))
                .throttlingBackoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(500), Duration.ofSeconds(10)))
                .build())
            .apiCallTimeout(settings.callTimeout())
            .apiCallAttemptTimeout(settings.attemptTimeout()));
    if (settings.endpoint() != null) {
      // S3-compatible stores vary in their support of the flexible checksums the SDK sends by default
      // (aws-chunked trailers); ask for them only where an operation requires one. SigV4 and TLS still guard
      // the bytes.
      builder.endpointOverride(settings.endpoint())
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    return builder.build();
  }

  private IOException failure(String operation, String objectKey, SdkException e) {
    String what = "S3 " + operation + " of " + where(objectKey) + " failed: ";
    if (e instanceof AbortedException) {
      // the SDK saw the thread interrupted; keep the interrupt for the caller
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted = new InterruptedIOException(what + "interrupted");
      interrupted.initCause(e);
      return interrupted;
    }
    if (e instanceof AwsServiceException service) {
      AwsErrorDetails details = service.awsErrorDetails();
      String code = details == null ? null : details.errorCode();
      String message = details == null ? service.getMessage() : details.errorMessage();
      return new IOException(what + "HTTP " + service.statusCode() + (code == null ? "" : " " + code)
          + (message == null ? "" : ": " + message)
          + (service.requestId() == null ? "" : " (request " + service.requestId() + ")"), e);
    }
    return new IOException(what + e.getMessage(), e);
  }

  private String where(String objectKey) {
    return "s3://" + settings.bucket() + "/" + objectKey + (settings.endpoint() == null ? "" : " at " + settings.endpoint());
  }

  private String objectKey(String key) {
    if (key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
      throw new IllegalArgumentException("'" + key + "' is not an object key");
    }
    return join(settings.prefix(), key);
  }

  private String objectPrefix(String prefix) {
    if (prefix.startsWith("/")) {
      throw new IllegalArgumentException("key prefix '" + prefix + "' starts with '/'");
    }
    return settings.prefix().isEmpty() ? prefix : settings.prefix() + "/" + prefix;
  }

  private String relativeKey(String objectKey) {
    return settings.prefix().isEmpty() ? objectKey : objectKey.substring(settings.prefix().length() + 1);
  }

  private static String join(String prefix, String rest) {
    if (prefix.isEmpty()) {
      return rest;
    }
    return rest.isEmpty() ? prefix : prefix + "/" + rest;
  }

  /** {@code "/a//b/"} → {@code "a/b"}; null → {@code ""}. */
  static String normalisePrefix(String prefix) {
    if (prefix == null) {
      return "";
    }
    StringBuilder normal = new StringBuilder();
    for (String segment : prefix.split("/")) {
      if (!segment.isEmpty()) {
        normal.append(normal.length() == 0 ? "" : "/").append(segment);
      }
    }
    return normal.toString();
  }

  private static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    return h.equals("localhost") || h.equals("127.0.0.1") || h.equals("[::1]") || h.equals("::1");
  }

  private static String optionalString(Config config, String path) {
    if (!config.hasPath(path)) {
      return null;
    }
    String value = config.getString(path).trim();
    return value.isEmpty() ? null : value;
  }
}
