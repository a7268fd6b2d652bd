package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

/** Echoes the event with what the runtime told it; fails when the event asks. */
public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
  private static final long STARTED = System.nanoTime();

  @Override
  public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
    if (Boolean.TRUE.equals(event.get("fail"))) {
      throw new IllegalStateException("asked to fail");
    }
    context.getLogger().log("java says hi to " + event.get("name"));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("event", event);
    out.put("javaVersion", System.getProperty("java.version"));
    out.put("requestId", context.getAwsRequestId());
    out.put("functionName", context.getFunctionName());
    out.put("memoryLimitInMB", context.getMemoryLimitInMB());
    out.put("remainingTimeInMillis", context.getRemainingTimeInMillis());
    out.put("uptimeMs", (System.nanoTime() - STARTED) / 1_000_000);
    return out;
  }
}
