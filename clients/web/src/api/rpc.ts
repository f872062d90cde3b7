// One JSON-RPC WebSocket per tab: reconnects with backoff, re-authenticates (refresh token kept in
// memory only) before releasing calls, then re-runs every registered "on ready" step (subscriptions).
import type { MethodName, Methods, Notifications } from "./generated";

export class RpcError extends Error {
  constructor(
    public code: number,
    message: string,
    public data?: unknown,
  ) {
    super(message);
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: number };
type Listener = (params: any) => void;
export type ConnState = "connecting" | "open" | "closed";

export class Rpc {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<Listener>>();
  private readySteps = new Set<() => Promise<void>>();
  private stateListeners = new Set<(s: ConnState) => void>();
  private ready: Promise<void> | null = null;
  private backoff = 500;
  private closedByUser = false;
  /** Called after every (re)connect before anything else: binds the identity to the new socket. */
  authenticate: (() => Promise<void>) | null = null;
  state: ConnState = "closed";

  constructor(private url: string) {}

  private setState(s: ConnState) {
    this.state = s;
    this.stateListeners.forEach((f) => f(s));
  }

  onState(f: (s: ConnState) => void): () => void {
    this.stateListeners.add(f);
    return () => this.stateListeners.delete(f);
  }

  connect(): Promise<void> {
    if (this.ready) return this.ready;
    this.closedByUser = false;
    this.setState("connecting");
    this.ready = new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = async () => {
        try {
          this.backoff = 500;
          if (this.authenticate) await this.authenticate();
          this.setState("open");
          resolve();
          // Re-subscribe etc. once calls are released (a step may itself call()).
          for (const step of this.readySteps) step().catch(() => undefined);
        } catch (e) {
          reject(e);
          ws.close();
        }
      };
      ws.onmessage = (ev) => this.onMessage(String(ev.data));
      ws.onclose = () => {
        const wasReady = this.state === "open";
        this.ws = null;
        this.ready = null;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new RpcError(-1, "connection lost"));
        }
        this.pending.clear();
        this.setState("closed");
        if (!wasReady) reject(new RpcError(-1, "connection failed"));
        if (!this.closedByUser) {
          const wait = this.backoff;
          this.backoff = Math.min(this.backoff * 2, 8000);
          window.setTimeout(() => this.connect().catch(() => undefined), wait);
        }
      };
    });
    return this.ready;
  }

  close() {
    this.closedByUser = true;
    this.ws?.close();
  }

  private onMessage(text: string) {
    let msg: any;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m.id !== undefined && m.id !== null && this.pending.has(m.id)) {
        const p = this.pending.get(m.id)!;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new RpcError(m.error.code, m.error.message, m.error.data));
        else p.resolve(m.result);
      } else if (m.method) {
        this.listeners.get(m.method)?.forEach((f) => f(m.params));
      }
    }
  }

  /** A call on the raw socket (used while authenticating, before `ready` resolves). */
  raw<M extends MethodName>(method: M, params?: Methods[M]["params"], timeoutMs = 15000): Promise<Methods[M]["result"]> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new RpcError(-1, "not connected"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(-2, `${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params ?? {} }));
    });
  }

  async call<M extends MethodName>(method: M, params?: Methods[M]["params"], timeoutMs = 15000): Promise<Methods[M]["result"]> {
    await this.connect();
    return this.raw(method, params, timeoutMs);
  }

  on<N extends keyof Notifications>(name: N, f: (p: Notifications[N]) => void): () => void;
  on(name: string, f: Listener): () => void;
  on(name: string, f: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(f);
    return () => set!.delete(f);
  }

  /** Run `step` now (if connected) and after every reconnect (e.g. subscribe_events). */
  onReady(step: () => Promise<void>): () => void {
    this.readySteps.add(step);
    if (this.state === "open") step().catch(() => undefined);
    return () => this.readySteps.delete(step);
  }
}

export function wsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}
