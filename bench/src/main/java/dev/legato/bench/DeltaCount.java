package dev.legato.bench;

/**
 * Counts the agent's deltas in the text a subscriber receives, by length: a thread hands its subscribers
 * the deltas of one link batch as one update, so updates are no measure of deltas; characters are, since
 * the load agent's deltas all have one known size. A delta split across two updates counts once, when
 * its last character arrives. One per subscriber, used from one thread at a time.
 */
final class DeltaCount {
  private final int deltaChars;
  private long chars;

  DeltaCount(int deltaChars) {
    if (deltaChars <= 0) {
      throw new IllegalArgumentException("a delta has at least one character, got " + deltaChars);
    }
    this.deltaChars = deltaChars;
  }

  /** Adds the length of one update's text; answers how many deltas it completed. */
  long add(int length) {
    long before = chars / deltaChars;
    chars += length;
    return chars / deltaChars - before;
  }
}
