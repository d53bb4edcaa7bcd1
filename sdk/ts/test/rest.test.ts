import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, RestClient, type Fetch } from "../src/rest.js";

// FakeServer answers requests from a queue of canned answers and records
// what it was asked.
interface Canned {
  status: number;
  body?: unknown; // JSON, or a string as is
  headers?: Record<string, string>;
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

function fakeFetch(answers: Canned[]): { fetch: Fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetch: Fetch = async (url, init) => {
    const headers = { ...(init.headers as Record<string, string>) };
    seen.push({
      method: init.method ?? "GET",
      url,
      headers,
      ...(init.body !== undefined ? { body: JSON.parse(String(init.body)) } : {}),
    });
    init.signal?.throwIfAborted();
    const a = answers.shift();
    if (a === undefined) {
      throw new Error(`unexpected request ${init.method} ${url}`);
    }
    const text = a.body === undefined ? "" : typeof a.body === "string" ? a.body : JSON.stringify(a.body);
    return new Response(a.status === 204 ? null : text, { status: a.status, headers: a.headers ?? {} });
  };
  return { fetch, seen };
}

test("RestClient: requests and typed answers", async () => {
  const ticket = { ticket_id: "t1", status: "searching" };
  const tests: {
    name: string;
    call: (c: RestClient) => Promise<unknown>;
    answer: Canned;
    want: { method: string; path: string; body?: unknown; result?: unknown };
  }[] = [
    {
      name: "createGuest",
      call: (c) => c.createGuest("alice"),
      answer: { status: 201, body: { player_id: "p1", token: "tok" } },
      want: { method: "POST", path: "/v1/auth/guest", body: { name: "alice" }, result: { player_id: "p1", token: "tok" } },
    },
    {
      name: "player",
      call: (c) => c.player("p/1"),
      answer: { status: 200, body: { player_id: "p/1", name: "a", ratings: {} } },
      want: { method: "GET", path: "/v1/players/p%2F1", result: { player_id: "p/1", name: "a", ratings: {} } },
    },
    {
      name: "createTicket",
      call: (c) => c.createTicket("duel"),
      answer: { status: 201, body: ticket },
      want: { method: "POST", path: "/v1/matchmaking/tickets", body: { mode: "duel" }, result: ticket },
    },
    {
      name: "ticket, long-poll",
      call: (c) => c.ticket("t1", 25_000),
      answer: { status: 200, body: ticket },
      want: { method: "GET", path: "/v1/matchmaking/tickets/t1?wait=25000ms", result: ticket },
    },
    {
      name: "ticket, at once",
      call: (c) => c.ticket("t1"),
      answer: { status: 200, body: ticket },
      want: { method: "GET", path: "/v1/matchmaking/tickets/t1", result: ticket },
    },
    {
      name: "cancelTicket",
      call: (c) => c.cancelTicket("t1"),
      answer: { status: 204 },
      want: { method: "DELETE", path: "/v1/matchmaking/tickets/t1", result: undefined },
    },
    {
      name: "match",
      call: (c) => c.match("m1"),
      answer: { status: 200, body: { match_id: "m1", mode: "chess", status: "ended", players: ["a", "b"], created_at: "2026-01-01T00:00:00Z", record: { moves: ["f2f3"] } } },
      want: {
        method: "GET",
        path: "/v1/matches/m1",
        result: { match_id: "m1", mode: "chess", status: "ended", players: ["a", "b"], created_at: "2026-01-01T00:00:00Z", record: { moves: ["f2f3"] } },
      },
    },
    {
      name: "leaderboard",
      call: (c) => c.leaderboard("duel", 5),
      answer: { status: 200, body: { mode: "duel", entries: [] } },
      want: { method: "GET", path: "/v1/leaderboard/duel?limit=5", result: { mode: "duel", entries: [] } },
    },
    {
      name: "health",
      call: (c) => c.health(),
      answer: { status: 200, body: "ok" },
      want: { method: "GET", path: "/healthz", result: undefined },
    },
  ];
  for (const tt of tests) {
    const { fetch, seen } = fakeFetch([tt.answer]);
    const c = new RestClient("http://arbiter.test/api/", { fetch, token: "tok" });
    const got = await tt.call(c);
    assert.deepEqual(got, tt.want.result, `${tt.name}: result`);
    assert.equal(seen.length, 1, `${tt.name}: requests`);
    const s = seen[0]!;
    assert.equal(s.method, tt.want.method, `${tt.name}: method`);
    assert.equal(s.url, "http://arbiter.test/api" + tt.want.path, `${tt.name}: url`);
    assert.equal(s.headers["Authorization"], "Bearer tok", `${tt.name}: bearer`);
    assert.deepEqual(s.body, tt.want.body, `${tt.name}: body`);
    assert.equal(s.headers["Content-Type"], tt.want.body !== undefined ? "application/json" : undefined, `${tt.name}: content type`);
  }
});

test("RestClient: errors are ApiErrors with status, code and message", async () => {
  const tests: { name: string; answer: Canned; want: Partial<ApiError> }[] = [
    {
      name: "the API's error",
      answer: { status: 409, body: { error: { code: "conflict", message: "already searching" } } },
      want: { status: 409, code: "conflict", apiMessage: "already searching", retryAfterMs: 0 },
    },
    {
      name: "throttled",
      answer: { status: 429, body: { error: { code: "rate_limited", message: "slow down" } }, headers: { "Retry-After": "3" } },
      want: { status: 429, code: "rate_limited", retryAfterMs: 3000 },
    },
    {
      name: "a proxy's page",
      answer: { status: 502, body: "<html>" + "x".repeat(500) + "</html>" },
      want: { status: 502, code: "" },
    },
    {
      name: "not JSON where JSON is due",
      answer: { status: 201, body: "{" },
      want: { status: 201, code: "" },
    },
  ];
  for (const tt of tests) {
    const { fetch } = fakeFetch([tt.answer]);
    const c = new RestClient("https://arbiter.test", { fetch });
    await assert.rejects(c.createTicket("duel"), (err: unknown) => {
      assert.ok(err instanceof ApiError, `${tt.name}: ${String(err)} is not an ApiError`);
      for (const [k, v] of Object.entries(tt.want)) {
        assert.equal((err as unknown as Record<string, unknown>)[k], v, `${tt.name}: ${k}`);
      }
      assert.equal(err.method, "POST");
      assert.equal(err.path, "/v1/matchmaking/tickets");
      assert.ok(err.message.length < 400, `${tt.name}: message of ${err.message.length} characters`);
      return true;
    });
  }
});

test("RestClient: awaitMatch long-polls until matched", async () => {
  const matched = { ticket_id: "t1", status: "matched", match_id: "m1", ws_url: "ws://x/v1/play?token=j", join_token: "j" };
  const { fetch, seen } = fakeFetch([
    { status: 200, body: { ticket_id: "t1", status: "searching" } },
    { status: 200, body: matched },
  ]);
  const c = new RestClient("http://arbiter.test", { fetch, longPollMs: 1 });
  // The first poll came back at once: the next waits out the rest of a
  // second, which this test does not want to spend.
  const t0 = Date.now();
  assert.deepEqual(await c.awaitMatch("t1"), matched);
  assert.ok(Date.now() - t0 >= 900, "polls answered early are spaced a second apart");
  assert.deepEqual(
    seen.map((s) => s.url),
    ["http://arbiter.test/v1/matchmaking/tickets/t1?wait=1ms", "http://arbiter.test/v1/matchmaking/tickets/t1?wait=1ms"],
  );

  const { fetch: f2 } = fakeFetch([{ status: 200, body: { ticket_id: "t2", status: "expired" } }]);
  await assert.rejects(new RestClient("http://arbiter.test", { fetch: f2 }).awaitMatch("t2"), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, "ticket_expired");
    return true;
  });
});

test("RestClient: an aborted signal rejects, and stops awaitTicket between polls", async () => {
  const { fetch } = fakeFetch([{ status: 200, body: { ticket_id: "t1", status: "searching" } }]);
  const c = new RestClient("http://arbiter.test", { fetch, longPollMs: 1 });
  const ac = new AbortController();
  const p = c.awaitTicket("t1", ac.signal);
  setTimeout(() => ac.abort(new Error("bored")), 20);
  await assert.rejects(p, /bored/);
  await assert.rejects(c.player("p", AbortSignal.abort(new Error("never"))), /never/);
});

test("RestClient: locator answers the match's ws_url, or null once it is over", async () => {
  const running = { match_id: "m1", mode: "chess", status: "running", players: [], created_at: "", ws_url: "ws://b/v1/play?token=j2" };
  const tests: { name: string; answer: Canned; want: string | null | undefined }[] = [
    { name: "running", answer: { status: 200, body: running }, want: "ws://b/v1/play?token=j2" },
    { name: "waiting, no ws_url", answer: { status: 200, body: { ...running, status: "waiting", ws_url: undefined } }, want: undefined },
    { name: "ended", answer: { status: 200, body: { ...running, status: "ended", ws_url: undefined } }, want: null },
    { name: "aborted", answer: { status: 200, body: { ...running, status: "aborted", ws_url: undefined } }, want: null },
    { name: "not there", answer: { status: 404, body: { error: { code: "not_found", message: "" } } }, want: null },
    { name: "server down", answer: { status: 503, body: { error: { code: "store_unavailable", message: "" } } }, want: undefined },
  ];
  for (const tt of tests) {
    const { fetch, seen } = fakeFetch([tt.answer]);
    const locate = new RestClient("http://arbiter.test", { fetch, token: "t" }).locator("m1");
    assert.equal(await locate(new AbortController().signal), tt.want, tt.name);
    assert.deepEqual(
      seen.map((s) => s.url),
      ["http://arbiter.test/v1/matches/m1"],
      tt.name,
    );
  }
});

test("RestClient: refuses base URLs it cannot use", () => {
  for (const bad of ["", "ws://x", "http://user:pw@x", "not a url"]) {
    assert.throws(() => new RestClient(bad, { fetch: async () => new Response() }), TypeError, bad);
  }
});
