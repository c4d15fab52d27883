/**
 * The stock service of the example: stock moves and sign-ins, audited into
 * its own log folder (on its own host, in a real deployment).
 *
 *   AUDITX_LOG_DIR=logs/stock PORT=0 node examples/multi-service-store/stock-service.mjs
 */
import { createServer } from "node:http";
import { AuditAction, createLogger, RequestContext } from "auditx";
import { readJson, reply, userOf } from "./http.mjs";

const audit = createLogger({ logDir: process.env.AUDITX_LOG_DIR ?? "logs/stock", serviceName: "stock-api", hostname: "stock-01" });
const PASSWORDS = new Map([["zaw", "store-keeper-1"]]);

const server = createServer(async (request, response) => {
  const user = userOf(request);
  await RequestContext.run({ ...user, ip: request.socket.remoteAddress, method: request.method, endpoint: request.url }, async () => {
    const body = await readJson(request);
    if (request.method === "POST" && request.url === "/stock-moves") {
      audit.logInventory(`Moved ${body.quantity} x ${body.productId} from ${body.from} to ${body.to}`, {
        action: AuditAction.TRANSFER,
        productId: body.productId,
        quantity: body.quantity,
        warehouseId: body.to,
        metadata: { from: body.from, to: body.to },
      });
      return reply(response, 201, { moved: body.quantity });
    }
    if (request.method === "POST" && request.url === "/login") {
      const success = PASSWORDS.get(body.user) === body.password;
      audit.logSecurity(success ? "User login successful" : "User login failed", { action: AuditAction.LOGIN, user: body.user, success });
      return reply(response, success ? 200 : 401, { success });
    }
    reply(response, 404, { error: "not found" });
  });
});

server.listen(Number(process.env.PORT ?? 3002), "127.0.0.1", () => {
  console.log(`stock-api listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => audit.shutdown().then(() => process.exit(0))));
