package dev.legato.podium.emulator;

import java.util.Comparator;

/** Orders versions numerically part by part, so 1.10.0 is newer than 1.2.0. */
final class SemanticVersion {
  static final Comparator<String> ORDER = SemanticVersion::compare;

  private SemanticVersion() {}

  static int compare(String a, String b) {
    String[] left = a.split("[.-]");
    String[] right = b.split("[.-]");
    for (int i = 0; i < Math.max(left.length, right.length); i++) {
      String l = i < left.length ? left[i] : "0";
      String r = i < right.length ? right[i] : "0";
      int c = l.matches("\\d{1,18}") && r.matches("\\d{1,18}")
          ? Long.compare(Long.parseLong(l), Long.parseLong(r))
          : l.compareTo(r);
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
