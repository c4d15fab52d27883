/** The little HTTP the example services share: the caller from headers, JSON in and out. */

/** Who calls, from the gateway's headers (X-User, X-Role, X-Company, X-Branch). */
export function userOf(request) {
  return {
    user: request.headers["x-user"] ?? "anonymous",
    userRole: request.headers["x-role"],
    companyId: request.headers["x-company"],
    branchId: request.headers["x-branch"],
  };
}

export async function readJson(request) {
  let text = "";
  for await (const chunk of request) text += chunk;
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

export function reply(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
