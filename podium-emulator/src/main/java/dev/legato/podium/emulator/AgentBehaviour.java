package dev.legato.podium.emulator;

/** Which scripted agent runs a deployment; chosen by its agent type. */
enum AgentBehaviour {
  ECHO(new EchoAgent()),
  CODER(new CoderAgent()),
  LOAD(new LoadAgent());

  private final Agent agent;

  AgentBehaviour(Agent agent) {
    this.agent = agent;
  }

  Agent agent() {
    return agent;
  }

  /** echo, coder and load are themselves; claude-agent acts as coder; anything else echoes. */
  static AgentBehaviour forAgentType(String agentType) {
    return switch (agentType) {
      case "coder", "claude-agent" -> CODER;
      case "load" -> LOAD;
      default -> ECHO;
    };
  }
}
