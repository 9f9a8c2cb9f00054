package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * An S3 server in the benchmark's JVM: s3proxy on 127.0.0.1 (a free port) with one bucket, requests signed
 * with a fixed key, its objects in files of a scratch folder in memory ({@code /dev/shm} where there is one, else
 * the temporary folder). A real S3 keeps them on its own disks: here the node's CPU is charged the requests (the
 * client's, and the server's too, in its own group of threads), but neither its heap holds the bucket (with
 * s3proxy's in-memory store, every object stored stayed on the node's heap for the collector to copy and mark)
 * nor its disk writes it back (which would weigh on the modes measured after). Closing stops it; it never throws,
 * so a benchmark's figures still get printed.
 */
final class EmbeddedS3 implements AutoCloseable {
  static final String BUCKET = "legato-bench";
  static final String ACCESS_KEY_ID = "legato-bench-key";
  static final String SECRET_ACCESS_KEY = "legato-bench-secret";

  private final Path folder;
  private final BlobStore blobStore;
  private final S3Proxy proxy;

  private EmbeddedS3(Path folder, BlobStore blobStore, S3Proxy proxy) {
    this.folder = folder;
    this.blobStore = blobStore;
    this.proxy = proxy;
  }

  /** Starts the server; returns once it answers requests. */
  static EmbeddedS3 start() throws Exception {
    Path shm = Path.of("/dev/shm");
    Path folder = Files.isDirectory(shm) && Files.isWritable(shm)
        ? Files.createTempDirectory(shm, "legato-bench-s3") : Files.createTempDirectory("legato-bench-s3");
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
      return new EmbeddedS3(folder, blobStore, proxy);
    } catch (Exception | Error e) {
      new EmbeddedS3(folder, blobStore, proxy).close();
      throw e;
    }
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  /**
   * The {@code legato.storage.replica.s3} keys that put a node's replicas in this server's bucket under
   * {@code prefix}.
   */
  Config replicaTarget(String prefix) {
    return ConfigFactory.parseMap(Map.of(
        "legato.storage.replica.s3.url", endpoint().toString(),
        "legato.storage.replica.s3.bucket", BUCKET,
        "legato.storage.replica.s3.prefix", prefix,
        "legato.storage.replica.s3.access-key-id", ACCESS_KEY_ID,
        "legato.storage.replica.s3.secret-access-key", SECRET_ACCESS_KEY));
  }

  /** Stops the server and removes its folder; a failure is reported in one line, never thrown. */
  @Override
  public void close() {
    if (proxy != null) {
      try {
        proxy.stop();
      } catch (Exception e) {
        System.out.printf("  warning: could not stop s3proxy: %s%n", e);
      }
    }
    if (blobStore != null) {
      try {
        blobStore.close();
      } catch (RuntimeException e) {
        System.out.printf("  warning: could not close s3proxy's blob store: %s%n", e);
      }
    }
    Teardown.remove(folder);
  }
}
