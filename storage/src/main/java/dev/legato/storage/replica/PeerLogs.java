package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The other writers' node logs, read for one file: what a node folds into a file's layout before it restores
 * a file another process wrote last (see {@link NodeLog} for the logs themselves and the fold at start).
 */
public final class PeerLogs {
  private static final Logger log = LoggerFactory.getLogger(NodeLog.class);

  private PeerLogs() {}

  /**
   * Copies into the layout of one file ({@code root}) what the logs of the writers {@code fold} accepts hold of it
   * beyond the layout, and deletes no batch (they hold other files' segments, which their writers may still be
   * moving). What a node does before it restores a file another process wrote last: that writer may have died
   * with its last acknowledged segments in its log only, and a node already running folded the logs once, at its
   * start, before that writer's last batches existed. A batch never changes once stored, so {@code batches} keeps
   * what it read: each is read once per process, and a fold costs a listing per writer beside the new batches.
   */
  public static NodeLog.Fold foldFile(ReplicaTarget target, Predicate<String> fold, String root, ReadBatches batches)
      throws IOException {
    return foldFile(target, target.children(NodeLog.PREFIX).stream().filter(fold).toList(), root, batches);
  }

  /**
   * The same, for the logs of {@code writers} (the writer a generation names, say, with no listing of the others).
   * The batches not read yet are read side by side ({@link ReadBatches#prefetch}): the first of the files a dead
   * writer leaves behind reads its whole log, and the others wait for it.
   */
  static NodeLog.Fold foldFile(ReplicaTarget target, List<String> writers, String root, ReadBatches batches)
      throws IOException {
    int read = 0;
    List<String> problems = new ArrayList<>();
    Map<String, List<NodeLog.Entry>> byGeneration = new LinkedHashMap<>();
    for (String writer : writers) {
      List<ReplicaTarget.Entry> objects = new ArrayList<>(target.list(NodeLog.PREFIX + writer + "/"));
      objects.sort(Comparator.comparing(ReplicaTarget.Entry::key));
      batches.retain(NodeLog.PREFIX + writer + "/", objects.stream().map(ReplicaTarget.Entry::key).collect(Collectors.toSet()));
      batches.prefetch(objects.stream().map(ReplicaTarget.Entry::key).toList(), key -> NodeLog.decode(target.get(key)));
      for (ReplicaTarget.Entry object : objects) {
        read++;
        try {
          for (NodeLog.Entry entry : batches.entries(object.key(), root, () -> NodeLog.decode(target.get(object.key())))) {
            byGeneration.computeIfAbsent(entry.generation(), k -> new ArrayList<>()).add(entry);
          }
        } catch (NoSuchFileException gone) {
          // deleted by its writer meanwhile: its segments are in their layouts
        } catch (IOException damaged) {
          problems.add(object.key() + ": " + damaged.getMessage());
        }
      }
    }
    int copied = 0;
    int stored = 0;
    for (List<NodeLog.Entry> generation : byGeneration.values()) {
      try {
        int[] done = NodeLog.copyInto(target, generation, problems);
        copied += done[0];
        stored += done[1];
      } catch (IOException e) {
        problems.add(root + " generation " + generation.get(0).generation() + ": " + e.getMessage());
      }
    }
    for (String problem : problems) {
      log.error("replicas: folding the node logs in {} for {}: {}", target.describe(), root, problem);
    }
    return new NodeLog.Fold(writers.size(), read, copied, stored, 0, List.copyOf(problems));
  }

  /**
   * The writer that began generation {@code generation} of {@code root}, if the generation names it: its id, and a
   * second line {@link Replication#HANDED_OVER} once it handed the file over whole.
   */
  static String writerOf(ReplicaTarget target, String root, String generation) throws IOException {
    try {
      String writer = new String(target.get(ReplicaLayout.writer(root, generation)), StandardCharsets.UTF_8).trim();
      return writer.isEmpty() ? null : writer;
    } catch (NoSuchFileException unnamed) {
      return null; // made before generations named their writer, or the name is not stored yet
    }
  }

  /**
   * The batches a process has read, by key, each as its segments by file; the batches a listing no longer shows
   * (deleted by their writers, or folded) are forgotten, so this holds at most the logs as they are.
   */
  public static final class ReadBatches {
    private final ConcurrentHashMap<String, CompletableFuture<Map<String, List<NodeLog.Entry>>>> byKey =
        new ConcurrentHashMap<>();
    /** Where batches are read side by side; null: each is read by the thread that needs it. */
    private final Executor readers;

    public ReadBatches() {
      this(null);
    }

    ReadBatches(Executor readers) {
      this.readers = readers;
    }

    /** Starts reading, side by side, each of the batches {@code keys} not read (or being read) yet. */
    void prefetch(List<String> keys, IoFunction<String, List<NodeLog.Entry>> read) {
      if (readers == null) {
        return;
      }
      for (String key : keys) {
        CompletableFuture<Map<String, List<NodeLog.Entry>>> mine = new CompletableFuture<>();
        if (byKey.putIfAbsent(key, mine) != null) {
          continue;
        }
        try {
          readers.execute(() -> readInto(key, mine, () -> read.apply(key)));
        } catch (RejectedExecutionException closing) {
          byKey.remove(key, mine);
          mine.completeExceptionally(new IOException("the replication is stopping"));
        }
      }
    }

    private void readInto(String key, CompletableFuture<Map<String, List<NodeLog.Entry>>> into,
                          IoSupplier<List<NodeLog.Entry>> read) {
      try {
        Map<String, List<NodeLog.Entry>> grouped = new HashMap<>();
        for (NodeLog.Entry entry : read.get()) {
          grouped.computeIfAbsent(entry.root(), r -> new ArrayList<>()).add(entry);
        }
        into.complete(grouped);
      } catch (IOException | RuntimeException e) {
        byKey.remove(key, into); // the next reader tries again
        into.completeExceptionally(e);
      }
    }

    /**
     * A batch whose bytes {@code read} gives when it was not read yet: its segments of file {@code root}. Files
     * restored at the same moment (the threads of a node that left or died) read each batch once between them:
     * the others wait for the first reader's answer.
     */
    List<NodeLog.Entry> entries(String key, String root, IoSupplier<List<NodeLog.Entry>> read) throws IOException {
      CompletableFuture<Map<String, List<NodeLog.Entry>>> mine = new CompletableFuture<>();
      CompletableFuture<Map<String, List<NodeLog.Entry>>> first = byKey.putIfAbsent(key, mine);
      if (first == null) {
        readInto(key, mine, read);
        first = mine;
      }
      return AsyncReads.answer(first).getOrDefault(root, List.of());
    }

    /** Forgets the batches below {@code prefix} that are not among {@code present}. */
    void retain(String prefix, Set<String> present) {
      byKey.keySet().removeIf(key -> key.startsWith(prefix) && !present.contains(key));
    }

    int size() {
      return byKey.size();
    }
  }

  /** Reads something that may fail with an {@link IOException}. */
  @FunctionalInterface
  interface IoSupplier<T> {
    T get() throws IOException;
  }

  /** Reads something named that may fail with an {@link IOException}. */
  @FunctionalInterface
  interface IoFunction<K, T> {
    T apply(K key) throws IOException;
  }

}
