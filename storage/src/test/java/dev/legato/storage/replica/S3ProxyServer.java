package dev.legato.storage.replica;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * An S3 server for tests: s3proxy in this JVM on 127.0.0.1 (a free port), its objects as files in a folder of
 * its own, requests signed with a fixed key (SigV2 or SigV4), one bucket made at start. Closing stops the
 * server and removes the folder.
 */
public final class S3ProxyServer implements AutoCloseable {
  public static final String ACCESS_KEY_ID = "legato-test-key";
  public static final String SECRET_ACCESS_KEY = "legato-test-secret";
  public static final String BUCKET = "legato-replicas";

  private final Path folder;
  private final BlobStore blobStore;
  private final S3Proxy proxy;
  private final URI endpoint;

  private S3ProxyServer(Path folder, BlobStore blobStore, S3Proxy proxy, URI endpoint) {
    this.folder = folder;
    this.blobStore = blobStore;
    this.proxy = proxy;
    this.endpoint = endpoint;
  }

  /** Starts a server with the bucket {@link #BUCKET}; returns once it answers requests. */
  public static S3ProxyServer start() throws Exception {
    Path folder = Files.createTempDirectory("legato-s3proxy");
    BlobStore blobStore = null;
    S3Proxy proxy = null;
    try {
      blobStore = new FilesystemNio2BlobStore(folder.toString());
      blobStore.createContainer(BUCKET);
      proxy = S3Proxy.builder()
          .blobStore(blobStore)
          .endpoint(URI.create("http://127.0.0.1:0"))
          .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
          .build();
      proxy.start();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!"STARTED".equals(proxy.getState())) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("s3proxy did not start within 30 s (state " + proxy.getState() + ")");
        }
        Thread.sleep(10);
      }
      return new S3ProxyServer(folder, blobStore, proxy, URI.create("http://127.0.0.1:" + proxy.getPort()));
    } catch (Exception | Error e) {
      stopQuietly(proxy, blobStore, folder, e);
      throw e;
    }
  }

  public URI endpoint() {
    return endpoint;
  }

  public int port() {
    return endpoint.getPort();
  }

  public String bucket() {
    return BUCKET;
  }

  public String accessKeyId() {
    return ACCESS_KEY_ID;
  }

  public String secretAccessKey() {
    return SECRET_ACCESS_KEY;
  }

  /** Settings of a target on this server's bucket under {@code prefix}, with its credentials. */
  public S3Target.Settings settings(String prefix) {
    return settings(endpoint, prefix);
  }

  /** The same, reached through another endpoint (a proxy in front of this server). */
  public S3Target.Settings settings(URI through, String prefix) {
    return S3Target.Settings.of(through, BUCKET).withPrefix(prefix).withCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
  }

  /** Where the objects lie on disk (one folder per bucket). */
  public Path folder() {
    return folder;
  }

  @Override
  public void close() {
    IllegalStateException failure = new IllegalStateException("stopping s3proxy failed");
    stopQuietly(proxy, blobStore, folder, failure);
    if (failure.getSuppressed().length > 0) {
      throw failure;
    }
  }

  private static void stopQuietly(S3Proxy proxy, BlobStore blobStore, Path folder, Throwable failure) {
    if (proxy != null) {
      try {
        proxy.stop();
      } catch (Exception e) {
        failure.addSuppressed(e);
      }
    }
    if (blobStore != null) {
      try {
        blobStore.close();
      } catch (RuntimeException e) {
        failure.addSuppressed(e);
      }
    }
    try (Stream<Path> paths = Files.walk(folder)) {
      for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }
}
