// A Tidings webhook receiver in Java 17, JDK only (HMAC-SHA256 and Ed25519 are in the JDK
// since Java 15). See docs/receiving.md.
//
//   WEBHOOK_SECRET=whsec_... PORT=9000 java Receiver.java     # or WEBHOOK_SECRET=whpk_... (v1a)
//
// It verifies each delivery on its raw body, answers at once (204), and processes later on
// another thread; a webhook-id seen before on the same path is answered 200 and not processed
// again (the id is the event's, the same on every endpoint that gets it). One JSON
// line per event on stdout: listening, processed, duplicate, rejected.
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Receiver {
  static final long TOLERANCE_S = 5 * 60;
  // Wraps a raw 32-byte Ed25519 public key as an X.509 SubjectPublicKeyInfo (RFC 8410).
  static final byte[] SPKI_ED25519 = HexFormat.of().parseHex("302a300506032b6570032100");

  record Job(String id, String sequence, byte[] body) {}

  public static void main(String[] args) throws Exception {
    String secret = System.getenv().getOrDefault("WEBHOOK_SECRET", "");
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "9000"));
    Set<String> seen = ConcurrentHashMap.newKeySet(); // in production: a unique key in a table
    BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();

    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", exchange -> {
      byte[] raw = exchange.getRequestBody().readAllBytes(); // the bytes as sent
      Headers h = exchange.getRequestHeaders();
      String id = h.getFirst("webhook-id");
      int status;
      String problem = problem(secret, id, h.getFirst("webhook-timestamp"), h.getFirst("webhook-signature"), raw);
      if (problem != null) {
        log("{\"event\":\"rejected\",\"reason\":\"" + problem + "\"}");
        status = 400;
      } else if (!seen.add(exchange.getRequestURI().getPath() + " " + id)) {
        log("{\"event\":\"duplicate\",\"id\":\"" + id + "\"}");
        status = 200;
      } else {
        jobs.add(new Job(id, h.getFirst("webhook-sequence"), raw));
        status = 204; // answer first: Tidings waits at most its timeout (15 s)
      }
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    server.setExecutor(Executors.newFixedThreadPool(4));

    Thread worker = new Thread(() -> {
      try {
        while (true) {
          Job job = jobs.take();
          String body = new String(job.body(), StandardCharsets.UTF_8);
          log("{\"event\":\"processed\",\"id\":\"" + job.id() + "\",\"sequence\":"
              + (job.sequence() == null ? "null" : job.sequence()) + ",\"body\":" + body + "}");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    worker.setDaemon(true);
    worker.start();
    server.start();
    log("{\"event\":\"listening\",\"port\":" + server.getAddress().getPort() + "}");
  }

  /** Why the delivery is refused, or null when one of its signatures verifies on a fresh timestamp. */
  static String problem(String secret, String id, String ts, String signatures, byte[] raw) {
    if (id == null || ts == null || signatures == null) return "missing webhook headers";
    if (!ts.matches("\\d+") || Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(ts)) > TOLERANCE_S) {
      return "timestamp outside the tolerance";
    }
    byte[] prefix = (id + "." + ts + ".").getBytes(StandardCharsets.UTF_8);
    byte[] content = new byte[prefix.length + raw.length];
    System.arraycopy(prefix, 0, content, 0, prefix.length);
    System.arraycopy(raw, 0, content, prefix.length, raw.length);
    try {
      boolean ed = secret.startsWith("whpk_");
      String version = ed ? "v1a" : "v1";
      byte[] expected = null;
      PublicKey key = null;
      if (ed) {
        byte[] pub = Base64.getDecoder().decode(secret.substring("whpk_".length()));
        byte[] spki = new byte[SPKI_ED25519.length + pub.length];
        System.arraycopy(SPKI_ED25519, 0, spki, 0, SPKI_ED25519.length);
        System.arraycopy(pub, 0, spki, SPKI_ED25519.length, pub.length);
        key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
      } else {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.replaceFirst("^whsec_", "")), "HmacSHA256"));
        expected = mac.doFinal(content);
      }
      // One signature per live secret (two during a rotation): any one that verifies will do.
      for (String entry : signatures.split(" ")) {
        int comma = entry.indexOf(',');
        if (comma < 0 || !entry.substring(0, comma).equals(version)) continue;
        try {
          byte[] sig = Base64.getDecoder().decode(entry.substring(comma + 1));
          if (ed) {
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(content);
            if (verifier.verify(sig)) return null;
          } else if (MessageDigest.isEqual(sig, expected)) {
            return null;
          }
        } catch (IllegalArgumentException | java.security.SignatureException e) {
          // an unreadable entry: try the next one
        }
      }
      return "no " + version + " signature matches";
    } catch (Exception e) {
      return "unreadable key";
    }
  }

  static synchronized void log(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
