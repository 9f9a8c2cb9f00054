package dev.legato.podium;

import java.util.Arrays;
import java.util.List;

/**
 * A semantic version ({@code 1.10.0-rc.1+build}) ordered as semver.org says: numerically by
 * major.minor.patch, a pre-release before its release, pre-release identifiers numeric before textual.
 * Text that is not a version orders before every version.
 */
record SemanticVersion(int major, int minor, int patch, List<String> preRelease, boolean valid)
    implements Comparable<SemanticVersion> {

  static SemanticVersion parse(String text) {
    String core = text.strip();
    if (core.startsWith("v") || core.startsWith("V")) {
      core = core.substring(1);
    }
    int plus = core.indexOf('+');
    if (plus >= 0) {
      core = core.substring(0, plus);
    }
    List<String> pre = List.of();
    int dash = core.indexOf('-');
    if (dash >= 0) {
      pre = Arrays.asList(core.substring(dash + 1).split("\\."));
      core = core.substring(0, dash);
    }
    String[] parts = core.split("\\.");
    try {
      int major = Integer.parseInt(parts[0]);
      int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      int patch = parts.length > 2 ? Integer.parseInt(parts[2]) : 0;
      if (parts.length > 3 || major < 0 || minor < 0 || patch < 0) {
        return invalid();
      }
      return new SemanticVersion(major, minor, patch, List.copyOf(pre), true);
    } catch (NumberFormatException notANumber) {
      return invalid();
    }
  }

  private static SemanticVersion invalid() {
    return new SemanticVersion(0, 0, 0, List.of(), false);
  }

  @Override
  public int compareTo(SemanticVersion other) {
    if (valid != other.valid) {
      return valid ? 1 : -1;
    }
    int c = Integer.compare(major, other.major);
    if (c == 0) c = Integer.compare(minor, other.minor);
    if (c == 0) c = Integer.compare(patch, other.patch);
    if (c != 0) {
      return c;
    }
    if (preRelease.isEmpty() || other.preRelease.isEmpty()) {
      return Boolean.compare(preRelease.isEmpty(), other.preRelease.isEmpty());
    }
    for (int i = 0; i < Math.min(preRelease.size(), other.preRelease.size()); i++) {
      c = compareIdentifier(preRelease.get(i), other.preRelease.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(preRelease.size(), other.preRelease.size());
  }

  private static int compareIdentifier(String a, String b) {
    boolean aNumeric = a.chars().allMatch(Character::isDigit) && !a.isEmpty();
    boolean bNumeric = b.chars().allMatch(Character::isDigit) && !b.isEmpty();
    if (aNumeric && bNumeric) {
      return Long.compare(Long.parseLong(a), Long.parseLong(b));
    }
    if (aNumeric != bNumeric) {
      return aNumeric ? -1 : 1;
    }
    return a.compareTo(b);
  }
}
