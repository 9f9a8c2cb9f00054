package dev.legato.storage.replica;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on 127.0.0.1 in front of an HTTP server, for tests of what a client does when the server fails:
 * it passes requests through, is down, answers some requests with a 500 itself, or swallows some and never
 * answers. The mode can change at any time.
 *
 * <p>It decides once per connection, when the request's head has arrived, and makes every connection carry one
 * request: it adds {@code Connection: close} to what it forwards, so the server closes after its answer, and its
 * own answers say so too. A client that keeps connections alive therefore opens one per request, and the
 * fractions below are fractions of requests. They are spread evenly, not drawn at random, so a test can rely on
 * them: with {@code errors(0.5)} every second request fails.
 */
public final class FaultyProxy implements AutoCloseable {

  /** What the proxy does with the next connections. */
  public sealed interface Mode permits Pass, Down, Errors, Stall {
    /** Forward everything. */
    Mode PASS = new Pass();
    /** Reset new connections at once and cut the open ones, as a crashed server or a dead link would. */
    Mode DOWN = new Down();

    /** Answer the fraction {@code p} of requests with {@code 500 Internal Server Error}; forward the others. */
    static Mode errors(double p) {
      return new Errors(p);
    }

    /** Read the fraction {@code p} of requests and never answer them; forward the others. */
    static Mode stall(double p) {
      return new Stall(p);
    }
  }

  public record Pass() implements Mode {}

  public record Down() implements Mode {}

  public record Errors(double fraction) implements Mode {
    public Errors {
      checkFraction(fraction);
    }
  }

  public record Stall(double fraction) implements Mode {
    public Stall {
      checkFraction(fraction);
    }
  }

  private enum Fate { FORWARD, ERROR, STALL }

  private static final int MAX_HEAD = 64 * 1024;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Thread acceptor;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final AtomicLong connections = new AtomicLong();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong errorsInjected = new AtomicLong();
  private final AtomicLong stalled = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private volatile Mode mode = Mode.PASS;
  private volatile boolean closed;
  // the share of requests owed to the current fault and not yet given to it (error diffusion)
  private double owed;

  public FaultyProxy(String targetHost, int targetPort) throws IOException {
    this.target = new InetSocketAddress(targetHost, targetPort);
    this.server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    this.acceptor = new Thread(this::acceptLoop, "faulty-proxy-accept-" + server.getLocalPort());
    acceptor.setDaemon(true);
    threads.add(acceptor);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** {@code http://127.0.0.1:<port>}: the endpoint a client uses to go through the proxy. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port());
  }

  public Mode mode() {
    return mode;
  }

  /** Switches mode; switching to {@link Mode#DOWN} also cuts every open connection. */
  public void mode(Mode newMode) {
    synchronized (this) {
      mode = newMode;
      owed = 0;
    }
    if (newMode instanceof Down) {
      for (Socket socket : List.copyOf(sockets)) {
        reset(socket);
      }
    }
  }

  /** Connections accepted, whatever became of them. */
  public long connections() {
    return connections.get();
  }

  /** Requests passed on to the server. */
  public long forwarded() {
    return forwarded.get();
  }

  /** Requests answered with a 500 by the proxy. */
  public long errorsInjected() {
    return errorsInjected.get();
  }

  /** Requests swallowed without an answer. */
  public long stalled() {
    return stalled.get();
  }

  /** Connections reset because the proxy was down. */
  public long refused() {
    return refused.get();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Socket socket : List.copyOf(sockets)) {
      reset(socket);
    }
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!threads.isEmpty()) {
      for (Thread thread : List.copyOf(threads)) {
        try {
          thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (thread.isAlive()) {
          throw new IllegalStateException("faulty proxy thread " + thread.getName() + " did not stop");
        }
        threads.remove(thread);
      }
    }
  }

  private void acceptLoop() {
    try {
      while (!closed) {
        Socket client;
        try {
          client = server.accept();
        } catch (IOException e) {
          if (closed) {
            return;
          }
          continue;
        }
        connections.incrementAndGet();
        if (closed) {
          reset(client);
          return;
        }
        if (mode instanceof Down) {
          refused.incrementAndGet();
          reset(client);
          continue;
        }
        sockets.add(client);
        start("faulty-proxy-conn-" + client.getPort(), () -> serve(client));
      }
    } finally {
      threads.remove(Thread.currentThread());
    }
  }

  private void start(String name, Runnable body) {
    Thread thread = new Thread(() -> {
      try {
        body.run();
      } finally {
        threads.remove(Thread.currentThread());
      }
    }, name);
    thread.setDaemon(true);
    threads.add(thread);
    if (closed) {
      threads.remove(thread);
      return;
    }
    thread.start();
  }

  private void serve(Socket client) {
    Socket upstream = null;
    try {
      InputStream fromClient = new BufferedInputStream(client.getInputStream());
      byte[] head = readHead(fromClient);
      if (head == null) {
        return;
      }
      switch (decide()) {
        case ERROR -> {
          errorsInjected.incrementAndGet();
          answerWithError(client, fromClient, head);
        }
        case STALL -> {
          stalled.incrementAndGet();
          // hold the connection and read whatever comes until the client gives up (or the proxy closes)
          drain(fromClient);
        }
        case FORWARD -> {
          upstream = new Socket();
          sockets.add(upstream);
          upstream.connect(target, 5_000);
          forwarded.incrementAndGet();
          OutputStream toServer = upstream.getOutputStream();
          toServer.write(withConnectionClose(head));
          toServer.flush();
          Socket server = upstream;
          start("faulty-proxy-back-" + client.getPort(), () -> pumpBack(server, client));
          pump(fromClient, toServer);
          // the client sent all it will send; let the server finish its answer
          upstream.shutdownOutput();
        }
        default -> throw new IllegalStateException();
      }
    } catch (IOException e) {
      // a connection cut by either side, or by the mode switching to DOWN
      closeQuietly(client);
      if (upstream != null) {
        closeQuietly(upstream);
      }
    } finally {
      if (upstream == null) {
        closeQuietly(client);
      }
    }
  }

  /** Server to client until the server closes (it does after one answer), then both sockets close. */
  private void pumpBack(Socket server, Socket client) {
    try {
      pump(server.getInputStream(), client.getOutputStream());
    } catch (IOException e) {
      // cut; close both below
    } finally {
      closeQuietly(server);
      closeQuietly(client);
    }
  }

  private synchronized Fate decide() {
    Mode current = mode;
    double fraction;
    Fate fault;
    if (current instanceof Errors errors) {
      fraction = errors.fraction();
      fault = Fate.ERROR;
    } else if (current instanceof Stall stall) {
      fraction = stall.fraction();
      fault = Fate.STALL;
    } else {
      return Fate.FORWARD;
    }
    owed += fraction;
    if (owed >= 1 - 1e-9) {
      owed -= 1;
      return fault;
    }
    return Fate.FORWARD;
  }

  private static void answerWithError(Socket client, InputStream fromClient, byte[] head) throws IOException {
    String requestLine = new String(head, StandardCharsets.ISO_8859_1).lines().findFirst().orElse("");
    boolean isHead = requestLine.toUpperCase(Locale.ROOT).startsWith("HEAD ");
    byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
        + "<Message>We encountered an internal error. Please try again.</Message>"
        + "<RequestId>faulty-proxy</RequestId></Error>").getBytes(StandardCharsets.UTF_8);
    String response = "HTTP/1.1 500 Internal Server Error\r\n"
        + "Content-Type: application/xml\r\n"
        + "Content-Length: " + body.length + "\r\n"
        + "Connection: close\r\n\r\n";
    OutputStream out = client.getOutputStream();
    out.write(response.getBytes(StandardCharsets.ISO_8859_1));
    if (!isHead) {
      out.write(body);
    }
    out.flush();
    // half-close and take whatever body the client still sends, so closing does not reset the connection
    // (a reset can destroy the answer before the client has read it)
    client.shutdownOutput();
    client.setSoTimeout(5_000);
    try {
      drain(fromClient);
    } catch (SocketTimeoutException e) {
      // the client keeps the connection open: close it anyway
    }
  }

  /** The request line and headers, up to and with the blank line; null if the client closed first. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0;
    while (true) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      last4 = (last4 << 8) | b;
      if (last4 == 0x0D0A0D0A) {
        return head.toByteArray();
      }
      if (head.size() > MAX_HEAD) {
        throw new IOException("request head longer than " + MAX_HEAD + " bytes");
      }
    }
  }

  /** The head with its connection headers replaced by {@code Connection: close}. */
  static byte[] withConnectionClose(byte[] head) {
    String text = new String(head, StandardCharsets.ISO_8859_1);
    List<String> lines = new ArrayList<>(List.of(text.split("\r\n", -1)));
    // the head ends with "\r\n\r\n": the split leaves two empty strings at its end
    lines.subList(lines.size() - 2, lines.size()).clear();
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < lines.size(); i++) {
      String name = lines.get(i).split(":", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (i > 0 && (name.equals("connection") || name.equals("keep-alive") || name.equals("proxy-connection"))) {
        continue;
      }
      out.append(lines.get(i)).append("\r\n");
    }
    out.append("Connection: close\r\n\r\n");
    return out.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void pump(InputStream in, OutputStream out) throws IOException {
    byte[] buffer = new byte[16 * 1024];
    int n;
    while ((n = in.read(buffer)) >= 0) {
      out.write(buffer, 0, n);
      out.flush();
    }
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buffer = new byte[16 * 1024];
    while (in.read(buffer) >= 0) {
      // discard
    }
  }

  private void reset(Socket socket) {
    try {
      socket.setSoLinger(true, 0);
    } catch (SocketException ignored) {
      // already closed
    }
    closeQuietly(socket);
  }

  private void closeQuietly(Socket socket) {
    sockets.remove(socket);
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing more to do
    }
  }

  private static void checkFraction(double fraction) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("a fraction of requests is between 0 and 1, not " + fraction);
    }
  }
}
