package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Replicas in a folder, laid out as Litestream's {@code file} replica type: an object is a file under the
 * root, written beside its place and renamed into it (a reader never sees half a file), its modification
 * time the moment it stands for.
 */
public final class FileTarget implements ReplicaTarget {
  private final Path root;

  public FileTarget(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  @Override
  public void put(String key, byte[] body, Instant time) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path temporary = target.resolveSibling(target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    try {
      try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(body);
        while (buffer.hasRemaining()) {
          out.write(buffer);
        }
        out.force(true);
      }
      Files.setLastModifiedTime(temporary, FileTime.from(time));
      try {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  @Override
  public byte[] get(String key) throws IOException {
    return Files.readAllBytes(resolve(key));
  }

  @Override
  public List<Entry> list(String prefix) throws IOException {
    // walk from the deepest folder the prefix names, then keep the keys that start with it
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : resolve(prefix.substring(0, slash));
    List<Entry> entries = new ArrayList<>();
    if (!Files.isDirectory(start)) {
      return entries;
    }
    try (Stream<Path> files = Files.walk(start)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        String key = key(file);
        if (!key.startsWith(prefix) || key.endsWith(".tmp")) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException removedMeanwhile) {
          continue;
        }
        if (attributes.isRegularFile()) {
          entries.add(new Entry(key, attributes.size(), attributes.lastModifiedTime().toInstant()));
        }
      }
    } catch (java.io.UncheckedIOException e) {
      if (!(e.getCause() instanceof NoSuchFileException)) {
        throw e.getCause();
      }
    }
    entries.sort(java.util.Comparator.comparing(Entry::key));
    return entries;
  }

  @Override
  public List<String> children(String prefix) throws IOException {
    Path folder = resolve(prefix);
    List<String> names = new ArrayList<>();
    if (!Files.isDirectory(folder)) {
      return names;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder, Files::isDirectory)) {
      for (Path entry : entries) {
        if (holdsObjects(entry)) {
          names.add(entry.getFileName().toString());
        }
      }
    }
    names.sort(null);
    return names;
  }

  /**
   * Whether a folder holds an object. A process killed during a put leaves the folders it made and the
   * temporary file, no object: a new generation's folder with no snapshot in it, which must not count as
   * the newest generation (as in S3, where a name exists only through the objects below it).
   */
  private static boolean holdsObjects(Path folder) throws IOException {
    try (Stream<Path> files = Files.walk(folder)) {
      return files.anyMatch(file -> !file.getFileName().toString().endsWith(".tmp") && Files.isRegularFile(file));
    } catch (NoSuchFileException removedMeanwhile) {
      return false;
    } catch (java.io.UncheckedIOException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        return false; // removed meanwhile
      }
      throw e.getCause();
    }
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    for (String key : keys) {
      Path file = resolve(key);
      Files.deleteIfExists(file);
      // remove folders left empty, up to the root, so a deleted generation leaves nothing behind
      for (Path folder = file.getParent(); folder != null && folder.startsWith(root) && !folder.equals(root);
          folder = folder.getParent()) {
        try {
          Files.delete(folder);
        } catch (java.nio.file.DirectoryNotEmptyException | NoSuchFileException stop) {
          break;
        }
      }
    }
  }

  @Override
  public String describe() {
    return root.toString();
  }

  @Override
  public String litestreamUrl(String replicaRoot) {
    return "file://" + resolve(replicaRoot);
  }

  private Path resolve(String key) {
    Path path = root.resolve(key).normalize();
    if (!path.startsWith(root)) {
      throw new IllegalArgumentException("key '" + key + "' leaves the replica folder");
    }
    return path;
  }

  private String key(Path file) {
    return root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
  }
}
