package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The project's Markdown sends readers only to files they have: every relative link, and every Markdown
 * file a document names in code, resolves to a file inside the repository. (The Podium contract was once
 * cited from a folder outside it.)
 */
class DocumentationLinksTest {
  private static final Pattern LINK = Pattern.compile("\\[[^\\]]*]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
  private static final Pattern CITED_MARKDOWN = Pattern.compile("`([^`\\s]+\\.md)`");
  private static final Pattern FENCED_BLOCK = Pattern.compile("(?ms)^\\s*```.*?^\\s*```");
  private static final Set<String> NOT_SOURCES = Set.of(".git", "target", "node_modules");

  @Test
  void everyRelativeLinkAndCitedMarkdownFileResolvesInsideTheRepository() throws IOException {
    Path root = repositoryRoot();
    List<Path> documents = markdownFiles(root);
    assertTrue(documents.contains(root.resolve("README.md")), "the scan found the project's documents: " + documents);
    List<String> broken = new ArrayList<>();
    for (Path document : documents) {
      String text = FENCED_BLOCK.matcher(Files.readString(document)).replaceAll("");
      Matcher link = LINK.matcher(text);
      while (link.find()) {
        String target = link.group(1);
        if (target.startsWith("#") || target.startsWith("mailto:") || target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
          continue; // an anchor in the same page, or a page on the web
        }
        String file = URLDecoder.decode(target.replaceFirst("#.*$", ""), StandardCharsets.UTF_8);
        if (!insideAndPresent(root, document.getParent().resolve(file))) {
          broken.add(root.relativize(document) + ": link to " + target);
        }
      }
      Matcher cited = CITED_MARKDOWN.matcher(text);
      while (cited.find()) {
        String file = cited.group(1);
        // A document names a file relative to itself or to the repository root.
        if (!insideAndPresent(root, document.getParent().resolve(file)) && !insideAndPresent(root, root.resolve(file))) {
          broken.add(root.relativize(document) + ": names " + file);
        }
      }
    }
    assertEquals(List.of(), broken, "documents point to files the repository does not have");
  }

  private static boolean insideAndPresent(Path root, Path file) {
    Path normalized = file.toAbsolutePath().normalize();
    return normalized.startsWith(root) && Files.exists(normalized);
  }

  private static List<Path> markdownFiles(Path root) throws IOException {
    List<Path> found = new ArrayList<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
        return NOT_SOURCES.contains(dir.getFileName().toString()) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
        if (file.getFileName().toString().endsWith(".md") && attributes.isRegularFile()) {
          found.add(file);
        }
        return FileVisitResult.CONTINUE;
      }
    });
    found.sort(null);
    return found;
  }

  /** The folder with the reactor's pom.xml and the {@code legato} script, above this module. */
  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath().normalize();
    while (dir != null) {
      if (Files.isRegularFile(dir.resolve("legato")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("not inside the Legato repository: " + Path.of("").toAbsolutePath());
  }
}
