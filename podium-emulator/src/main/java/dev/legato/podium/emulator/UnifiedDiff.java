package dev.legato.podium.emulator;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes a real unified diff (one hunk, the whole file as context) between two small texts, so
 * that whatever renders or applies the coder agent's diffs gets well-formed input.
 */
final class UnifiedDiff {
  private UnifiedDiff() {}

  /** {@code before == null} is a new file, {@code after == null} a deleted one. */
  static String of(String path, List<String> before, List<String> after) {
    List<String> a = before == null ? List.of() : before;
    List<String> b = after == null ? List.of() : after;
    StringBuilder out = new StringBuilder();
    out.append("--- ").append(before == null ? "/dev/null" : "a/" + path).append('\n');
    out.append("+++ ").append(after == null ? "/dev/null" : "b/" + path).append('\n');
    out.append("@@ -").append(range(a.size())).append(" +").append(range(b.size())).append(" @@\n");
    for (String line : lines(a, b)) {
      out.append(line).append('\n');
    }
    return out.toString();
  }

  private static String range(int length) {
    return length == 0 ? "0,0" : "1," + length;
  }

  /** Context, removed and added lines from a longest-common-subsequence walk. */
  private static List<String> lines(List<String> a, List<String> b) {
    int[][] lcs = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    List<String> out = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        out.add(" " + a.get(i++));
        j++;
      } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
        out.add("-" + a.get(i++));
      } else {
        out.add("+" + b.get(j++));
      }
    }
    return out;
  }
}
