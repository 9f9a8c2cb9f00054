package dev.legato.gateway.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The gateway's one JSON codec: what clients send is read with it, and what Legato sends (JSON-RPC messages,
 * the Codex records, the operations routes' answers) is written with it. Members a record holds as null are
 * written as null, as Codex writes them; a shape that leaves a member out says so where it is declared.
 */
public final class Json {
  private static final ObjectMapper MAPPER = JsonMapper.builder().build();

  private Json() {}

  public static JsonNode read(String text) throws JsonProcessingException {
    return MAPPER.readTree(text);
  }

  /** The value as the text that goes on the wire. */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot be written as JSON: " + value.getClass().getName(), e);
    }
  }

  /** The value as a JSON tree, e.g. to look into what would be sent. */
  public static ObjectNode tree(Object value) {
    return MAPPER.valueToTree(value);
  }

  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }
}
