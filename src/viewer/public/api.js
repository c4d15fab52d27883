// The viewer's REST API, relative to the page so that it works under any mount prefix.

// The API key may come in the page URL once; keep it in memory and take it out of the address bar.
export const apiKey = (() => {
  const url = new URL(location.href);
  const key = url.searchParams.get("api_key");
  if (key === null) return null;
  url.searchParams.delete("api_key");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return key;
})();

const baseUrl = (() => {
  const url = new URL(location.href);
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/") && !/\.[a-z]+$/i.test(url.pathname)) url.pathname += "/";
  return url;
})();

export function apiUrl(path, params) {
  const url = new URL(path, baseUrl);
  if (params) for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The message of an error answer: `{"detail": "..."}` or `{"detail": [{msg}, ...]}`. */
export function detailMessage(body) {
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item) => (typeof item?.msg === "string" ? item.msg : JSON.stringify(item))).join("; ");
  return null;
}

export function authHeaders() {
  const headers = { Accept: "application/json" };
  if (apiKey) headers["X-API-Key"] = apiKey;
  return headers;
}

export async function getJson(path, params) {
  const response = await fetch(apiUrl(path, params), { headers: authHeaders(), credentials: "same-origin" });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = detailMessage(await response.json()) ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new HttpError(response.status, message);
  }
  return response.json();
}
