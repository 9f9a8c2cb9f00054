package dev.legato.cluster;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code docker/compose.yaml} as the tests need it: each service's environment (the image's {@code ENV} from
 * {@code docker/Dockerfile} under what the compose file gives it, as a container sees it), its command, and
 * which services are Legato nodes. Read with SnakeYAML (anchors and {@code <<} merges resolved), never parsed by
 * hand.
 */
record Compose(Map<String, Service> services, Map<String, String> imageEnvironment, List<String> entrypoint) {

  /** One service: its name, its environment as its container sees it, and its command (empty: the image's). */
  record Service(String name, Map<String, String> environment, List<String> command, boolean legato) {}

  static Compose read(Path root) throws IOException {
    Map<String, String> image = imageEnvironment(root.resolve("docker/Dockerfile"));
    List<String> entrypoint = entrypoint(root.resolve("docker/Dockerfile"));
    Map<String, Object> yaml;
    LoaderOptions options = new LoaderOptions();
    try (Reader reader = Files.newBufferedReader(root.resolve("docker/compose.yaml"))) {
      yaml = new Yaml(new SafeConstructor(options)).load(reader);
    }
    Map<String, Service> services = new LinkedHashMap<>();
    for (Map.Entry<String, Object> entry : map(yaml.get("services")).entrySet()) {
      Map<String, Object> service = map(entry.getValue());
      // a Legato node: built from docker/Dockerfile, run with its entrypoint (the emulator overrides it)
      boolean legato = service.containsKey("build") && !service.containsKey("entrypoint");
      Map<String, String> environment = new LinkedHashMap<>();
      if (service.containsKey("build")) {
        environment.putAll(image);
      }
      map(service.getOrDefault("environment", Map.of())).forEach((key, value) -> environment.put(key, String.valueOf(value)));
      List<String> command = new ArrayList<>();
      if (service.get("command") instanceof List<?> list) {
        list.forEach(part -> command.add(String.valueOf(part)));
      }
      services.put(entry.getKey(), new Service(entry.getKey(), Map.copyOf(environment), List.copyOf(command), legato));
    }
    return new Compose(Map.copyOf(services), image, entrypoint);
  }

  /** The Legato nodes, in the file's order of names (legato1, legato2, ...). */
  List<Service> nodes() {
    return services.values().stream().filter(Service::legato).sorted(java.util.Comparator.comparing(Service::name)).toList();
  }

  Service service(String name) {
    Service service = services.get(name);
    if (service == null) {
      throw new IllegalArgumentException("docker/compose.yaml has no service " + name);
    }
    return service;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object yaml) {
    return (Map<String, Object>) yaml;
  }

  private static final Pattern ENV_PAIR = Pattern.compile("([A-Z0-9_]+)=(\"[^\"]*\"|\\S+)");

  /** The final stage's {@code ENV} of the Dockerfile (every {@code KEY=value}, continued lines joined). */
  private static Map<String, String> imageEnvironment(Path dockerfile) throws IOException {
    Map<String, String> environment = new LinkedHashMap<>();
    for (String instruction : finalStage(dockerfile)) {
      if (instruction.startsWith("ENV ")) {
        Matcher pair = ENV_PAIR.matcher(instruction.substring(4));
        while (pair.find()) {
          environment.put(pair.group(1), pair.group(2).replace("\"", ""));
        }
      }
    }
    return environment;
  }

  /** The final stage's {@code ENTRYPOINT}, in its exec form. */
  private static List<String> entrypoint(Path dockerfile) throws IOException {
    for (String instruction : finalStage(dockerfile)) {
      if (instruction.startsWith("ENTRYPOINT ")) {
        List<String> parts = new ArrayList<>();
        Matcher quoted = Pattern.compile("\"([^\"]*)\"").matcher(instruction);
        while (quoted.find()) {
          parts.add(quoted.group(1));
        }
        return parts;
      }
    }
    return List.of();
  }

  /** The instructions after the last {@code FROM}, each on one line (continuations joined, comments left out). */
  private static List<String> finalStage(Path dockerfile) throws IOException {
    List<String> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(dockerfile)) {
      String trimmed = line.trim();
      if (trimmed.startsWith("#") || trimmed.isEmpty() && current.isEmpty()) {
        continue;
      }
      boolean continues = trimmed.endsWith("\\");
      current.append(continues ? trimmed.substring(0, trimmed.length() - 1) : trimmed).append(' ');
      if (!continues) {
        String instruction = current.toString().trim().replaceAll("\\s+", " ");
        current.setLength(0);
        if (instruction.startsWith("FROM ")) {
          instructions.clear();
        } else if (!instruction.isEmpty()) {
          instructions.add(instruction);
        }
      }
    }
    return instructions;
  }
}
