// jsonvisor serve: the live view.  Plain JavaScript, no build step, no framework.
//
// The list of messages follows GET /events; an open message follows
// GET /messages/{id}/events?compact=1 and nothing else: the first event is a snapshot,
// every later one is applied where it belongs (a Map from path to row), so the work per
// update is proportional to the change.  With a schema the whole shape is drawn from the
// schema first, each row with a fixed height, so no row moves as values arrive.
"use strict";
(() => {
  const LIVE = new Set(["waiting", "open", "ending"]);
  const MAX_RECENT = 100;
  let token = sessionStorage.getItem("jsonvisor-token") || "";

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const headers = () => (token ? { Authorization: "Bearer " + token } : {});

  function askToken() {
    const form = document.getElementById("token-form");
    form.hidden = false;
    setConn("error", "a token is needed");
  }
  function setConn(state, text) {
    const c = document.getElementById("conn");
    c.dataset.state = state;
    c.textContent = text;
  }

  // ---- server-sent events over fetch (EventSource cannot send a bearer token) -----------
  async function stream(url, onEvent, signal) {
    const resp = await fetch(url, { headers: headers(), signal, cache: "no-store" });
    if (resp.status === 401) {
      askToken();
      throw new Error("unauthorized");
    }
    if (!resp.ok) {
      let detail = resp.statusText;
      try { detail = (await resp.json()).error.message; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let start = 0;
      let end;
      while ((end = buf.indexOf("\n\n", start)) >= 0) {
        let name = "message";
        const data = [];
        for (const line of buf.slice(start, end).split("\n")) {
          if (!line || line[0] === ":") continue;
          const c = line.indexOf(":");
          const field = c < 0 ? line : line.slice(0, c);
          let v = c < 0 ? "" : line.slice(c + 1);
          if (v[0] === " ") v = v.slice(1);
          if (field === "event") name = v;
          else if (field === "data") data.push(v);
        }
        start = end + 2;
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
      buf = buf.slice(start);
    }
  }

  // ---- the list of messages -----------------------------------------------------------
  const rows = new Map(); // id -> <li>
  function upsert(m) {
    let li = rows.get(m.id);
    if (m.state === "removed") {
      if (li) { li.remove(); rows.delete(m.id); }
      countLive();
      return;
    }
    if (!li) {
      li = el("li");
      const a = el("a");
      a.href = "#m=" + encodeURIComponent(m.id);
      a.append(el("span", "badge"), el("span", "id", m.id));
      a.title = m.id + (m.name ? " (" + m.name + ")" : "");
      li.append(a);
      li.dataset.id = m.id;
      rows.set(m.id, li);
    }
    const badge = li.firstChild.firstChild;
    badge.className = "badge " + m.state;
    badge.textContent = m.state;
    li.dataset.state = m.state;
    const list = document.getElementById(LIVE.has(m.state) ? "live" : "recent");
    if (li.parentNode !== list) {
      if (list.id === "recent") list.prepend(li);
      else list.append(li);
    }
    const recent = document.getElementById("recent");
    while (recent.children.length > MAX_RECENT) {
      const last = recent.lastChild;
      rows.delete(last.dataset.id);
      last.remove();
    }
    countLive();
    if (current && current.id === m.id) current.summary(m);
  }
  function countLive() {
    document.getElementById("live-count").textContent = document.getElementById("live").children.length;
  }
  async function followList() {
    let delay = 500;
    for (;;) {
      try {
        await stream("/events", (name, data) => {
          if (name === "messages") {
            for (const li of rows.values()) li.remove();
            rows.clear();
            for (const m of data.recent.slice().reverse()) upsert(m);
            for (const m of data.live) upsert(m);
            setConn("live", "live");
            delay = 500;
          } else if (name === "message") {
            upsert(data);
          }
        });
        setConn("error", "the service has stopped");
      } catch (e) {
        setConn("error", String(e.message || e));
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  // ---- schemas: what the skeleton is drawn from ---------------------------------------
  function resolve(schema, root, depth = 0) {
    let s = schema;
    for (let i = 0; s && i < 8; i++) {
      if (typeof s.$ref === "string" && s.$ref.startsWith("#/")) {
        s = s.$ref.slice(2).split("/").reduce((o, k) => (o ? o[k.replace(/~1/g, "/").replace(/~0/g, "~")] : o), root);
        continue;
      }
      const alt = s.anyOf || s.oneOf;
      if (Array.isArray(alt)) {
        s = alt.find((a) => a && a.type !== "null") || alt[0];
        continue;
      }
      break;
    }
    return depth > 8 ? null : s || null;
  }
  function kindOfSchema(s) {
    if (!s) return null;
    let t = s.type;
    if (Array.isArray(t)) t = t.find((x) => x !== "null") || t[0];
    if (t === "object" || (!t && s.properties)) return "object";
    if (t === "array" || (!t && s.items)) return "array";
    if (t === "string") return "string";
    if (t === "number" || t === "integer" || t === "boolean" || t === "null" || s.enum) return "scalar";
    return null;
  }
  function shortString(s) {
    return !!(s && (s.enum || s.format || (s.maxLength !== undefined && s.maxLength <= 80)));
  }
  // Lines a value of this schema takes, fixed in advance (a row's height never changes).
  function linesOf(s, root, depth) {
    s = resolve(s, root, depth);
    if (!s || depth > 6) return 1;
    const k = kindOfSchema(s);
    if (k === "object") {
      if (!s.properties) return 4;
      let n = 1;
      for (const p of Object.values(s.properties)) n += linesOf(p, root, depth + 1);
      return n;
    }
    if (k === "array") return 1 + boxLines(s, root, depth);
    if (k === "string") return shortString(s) ? 1 : 3;
    return 1;
  }
  function boxLines(s, root, depth) {
    const shown = Math.max(1, Math.min(s.maxItems === undefined ? 3 : s.maxItems, 3));
    return Math.min(shown * linesOf(s.items, root, depth + 1), 12);
  }

  // ---- one message's value, following its events --------------------------------------
  const kindOf = (v) => (Array.isArray(v) ? "array" : v === null ? "scalar" : typeof v === "object" ? "object" : typeof v === "string" ? "string" : "scalar");
  const keyOf = (path) => JSON.stringify(path);
  function scalarText(v) {
    return typeof v === "number" || typeof v === "boolean" || v === null ? String(v) : JSON.stringify(v);
  }

  class View {
    constructor(id) {
      this.id = id;
      this.abort = new AbortController();
      this.nodes = new Map();
      this.schema = null;
      this.root = null;
      this.state = "waiting";
      const view = document.getElementById("view");
      view.replaceChildren();
      const title = el("div", "title");
      this.badge = el("span", "badge waiting", "waiting");
      title.append(el("h2", null, id), this.badge);
      this.status = el("div", "status", "connecting…");
      this.doc = el("div", "doc");
      this.outcome = el("div", "outcome");
      view.append(title, this.status, this.doc, this.outcome);
      view.dataset.view = "loading";
      this.view = view;
    }

    close() {
      this.abort.abort();
    }

    summary(m) {
      this.setState(m.state);
    }

    setState(state) {
      this.state = state;
      this.badge.className = "badge " + state;
      this.badge.textContent = state;
      this.view.dataset.stream = state;
    }

    async follow() {
      let tries = 0;
      while (!this.abort.signal.aborted && tries < 5) {
        tries++;
        try {
          await stream("/messages/" + encodeURIComponent(this.id) + "/events?compact=1", (n, d) => this.on(n, d), this.abort.signal);
          if (!LIVE.has(this.state)) return;
        } catch (e) {
          if (this.abort.signal.aborted) return;
          this.status.textContent = "stream error: " + (e.message || e) + "; retrying";
        }
        await new Promise((r) => setTimeout(r, 500 * tries));
      }
    }

    on(name, data) {
      switch (name) {
        case "snapshot": return this.snapshot(data);
        case "value_started": return this.started(data.path, data.kind);
        case "string_grew": return this.grew(data.path, data.text);
        case "value_completed": return this.completed(data.path, data.same ? undefined : data.value, data.same);
        case "document_completed": return undefined;
        case "restarted": this.status.textContent = "parser restarted (attempt " + data.attempt + ")"; return undefined;
        case "completed": return this.finished("completed", data);
        case "failed": case "expired": case "cancelled": return this.finished(name, data);
        case "dropped": this.status.textContent = "this view fell behind; reconnecting"; return undefined;
        default: return undefined;
      }
    }

    snapshot(s) {
      this.nodes.clear();
      this.doc.replaceChildren();
      this.outcome.textContent = "";
      this.outcome.className = "outcome";
      this.schema = s.schema_source || null;
      this.doc.className = "doc " + (this.schema ? "skeleton" : "tree");
      this.root = null;
      if (this.schema) this.makeRoot(kindOfSchema(resolve(this.schema, this.schema)) || "object");
      if (s.value !== null && s.value !== undefined) {
        const root = this.ensure([], kindOf(s.value));
        this.setValue(root, [], s.value, false);
      }
      for (const path of s.completed || []) {
        const n = this.nodes.get(keyOf(path));
        if (n) this.complete(n, true);
      }
      this.setState(s.state);
      this.status.textContent = s.schema ? "schema " + s.schema : "no schema: the partial value as a tree";
      this.view.dataset.view = "ready";
    }

    // -- rows -------------------------------------------------------------------------
    makeRoot(kind) {
      const root = this.makeNode([], kind, this.schema ? resolve(this.schema, this.schema) : null, null);
      this.doc.append(root.row);
      this.root = root;
      return root;
    }

    makeNode(path, kind, schema, label) {
      const row = el("div", path.length && typeof path[path.length - 1] === "number" ? "item" : "field");
      row.dataset.path = keyOf(path);
      row.dataset.state = "pending";
      const node = { path, kind, schema, row, slot: null, text: null, children: [], state: "pending", count: 0 };
      const line = el("div", "line");
      if (label !== null) line.append(el("span", "key", label));
      node.badge = path.length ? line.appendChild(el("span", "badge", "pending")) : null;
      row.append(line);
      node.line = line;
      this.fill(node, kind);
      if (this.schema && schema) {
        if (path.length) row.style.height = linesOf(schema, this.schema, 0) * 1.6 + "rem";
        if (kind === "object" && schema.properties) {
          for (const [k, sub] of Object.entries(schema.properties)) {
            const child = this.makeNode([...path, k], kindOfSchema(resolve(sub, this.schema)) || "scalar", resolve(sub, this.schema), k);
            node.slot.append(child.row);
            node.children.push(child);
          }
        }
      }
      this.nodes.set(row.dataset.path, node);
      return node;
    }

    fill(node, kind) {
      // the value's place: inline in the row's line, or a body below it
      node.kind = kind;
      if (node.slot) node.slot.remove();
      node.text = null;
      const line = node.line;
      if (!node.path.length) line.hidden = kind === "object" || kind === "array";
      if (kind === "object" || kind === "array") {
        node.slot = el("div", "body" + (this.schema && !(node.schema && (node.schema.properties)) ? " box" : ""));
        if (this.schema && kind === "array" && node.schema) node.slot.style.height = boxLines(node.schema, this.schema, 0) * 1.6 + "rem";
        if (this.schema && kind === "object" && node.schema && !node.schema.properties) node.slot.style.height = 3 * 1.6 + "rem";
        if (!node.path.length) node.slot.className = "body root";
        node.row.append(node.slot);
      } else if (kind === "string" && this.schema && node.schema && !shortString(node.schema) && node.path.length) {
        node.slot = el("div", "body text");
        node.slot.style.height = 2 * 1.6 + "rem";
        node.text = node.slot.appendChild(document.createTextNode(""));
        node.row.append(node.slot);
      } else {
        node.slot = el("span", "val" + (kind === "string" ? " str" : ""));
        line.append(node.slot);
        if (kind === "string") node.text = node.slot.appendChild(document.createTextNode(""));
      }
    }

    ensure(path, kind) {
      const key = keyOf(path);
      let node = this.nodes.get(key);
      if (node) {
        if (kind && node.kind !== kind) this.retype(node, kind);
        return node;
      }
      if (!path.length) return this.makeRoot(kind || "object");
      const last = path[path.length - 1];
      const parent = this.ensure(path.slice(0, -1), typeof last === "number" ? "array" : "object");
      let schema = null;
      if (parent.schema) {
        schema = typeof last === "number" ? resolve(parent.schema.items, this.schema) : resolve((parent.schema.properties || {})[last], this.schema);
      }
      node = this.makeNode(path, kind || kindOfSchema(schema) || "scalar", schema, typeof last === "number" ? "[" + last + "]" : last);
      if (this.schema && !schema) node.row.classList.add("extra");
      parent.slot.append(node.row);
      parent.children.push(node);
      if (parent.slot.classList.contains("box")) parent.slot.scrollTop = parent.slot.scrollHeight;
      return node;
    }

    retype(node, kind) {
      for (const c of node.children) this.forget(c);
      node.children = [];
      this.fill(node, kind);
    }

    forget(node) {
      this.nodes.delete(keyOf(node.path));
      for (const c of node.children) this.forget(c);
    }

    mark(node, state, quiet) {
      if (node.state === state || node.state === "complete") return;
      node.state = state;
      node.row.dataset.state = state;
      if (node.badge) node.badge.textContent = state;
      if (state === "complete" && !quiet) {
        node.row.classList.add("flash");
        node.row.addEventListener("animationend", () => node.row.classList.remove("flash"), { once: true });
      }
    }

    touch(node) {
      // an event under this row: it and its pending ancestors are partial now
      for (let p = node.path; ; p = p.slice(0, -1)) {
        const n = this.nodes.get(keyOf(p));
        if (!n || n.state !== "pending") break;
        this.mark(n, "partial", true);
        if (!p.length) break;
      }
    }

    complete(node, quiet) {
      if (node.state === "complete") return;
      this.mark(node, "complete", quiet || !node.path.length); // (the whole value: no flash)
      for (const c of node.children) this.complete(c, true);
    }

    // Draw ``value`` at ``node``: a final value (``done``: every row in it is complete) or
    // the partial value of a snapshot (its rows partial; the completed paths come next).
    setValue(node, path, value, done) {
      const kind = kindOf(value);
      if (node.kind !== kind) this.retype(node, kind);
      this.mark(node, done ? "complete" : "partial", true);
      if (kind === "object") {
        for (const [k, v] of Object.entries(value)) {
          this.setValue(this.ensure([...path, k], kindOf(v)), [...path, k], v, done);
        }
      } else if (kind === "array") {
        value.forEach((v, i) => this.setValue(this.ensure([...path, i], kindOf(v)), [...path, i], v, done));
      } else if (kind === "string") {
        if (node.text.data !== value) node.text.data = value;
      } else {
        node.slot.textContent = scalarText(value);
        node.slot.className = "val " + (typeof value === "number" ? "kind-num" : "kind-" + (value === null ? "null" : "bool"));
      }
    }

    // -- events -----------------------------------------------------------------------
    started(path, kind) {
      const node = this.ensure(path, kind === "string" ? "string" : kind);
      this.touch(node);
    }

    grew(path, text) {
      const node = this.ensure(path, "string");
      node.text.appendData(text);
      if (node.slot.classList.contains("text")) node.slot.scrollTop = node.slot.scrollHeight;
      this.touch(node);
    }

    completed(path, value, same) {
      const node = this.ensure(path, same ? null : kindOf(value));
      this.touch(node);
      if (!same) {
        // children arrive complete, quietly; the row itself flashes once
        const kind = kindOf(value);
        if (node.kind !== kind) this.retype(node, kind);
        if (kind === "object" || kind === "array") {
          for (const [k, v] of Object.entries(value)) {
            const p = [...path, kind === "array" ? Number(k) : k];
            this.setValue(this.ensure(p, kindOf(v)), p, v, true);
          }
        } else {
          this.setValue(node, path, value, false);
        }
      }
      this.complete(node, false);
    }

    finished(name, data) {
      this.setState(name);
      if (name === "completed") {
        if (!data.same && data.value !== undefined && !data.complete) {
          const root = this.ensure([], kindOf(data.value));
          this.setValue(root, [], data.value, false);
        }
        if (this.root) this.complete(this.root, true);
        this.outcome.textContent = data.complete
          ? "complete (confidence " + data.confidence + ")"
          : "repaired (" + data.confidence + "): " + data.repairs.join("; ");
      } else {
        this.outcome.classList.add("bad");
        const e = data.error || {};
        this.outcome.textContent = name === "failed"
          ? "failed: " + (e.message || e.type)
          : name + ": " + (data.reason || "");
      }
    }
  }

  // ---- navigation -----------------------------------------------------------------------
  let current = null;
  function route() {
    const m = /^#m=(.+)$/.exec(location.hash);
    const id = m ? decodeURIComponent(m[1]) : null;
    for (const a of document.querySelectorAll("nav a[aria-current]")) a.removeAttribute("aria-current");
    if (!id) return;
    const li = rows.get(id);
    if (li) li.firstChild.setAttribute("aria-current", "true");
    if (current && current.id === id) return;
    if (current) current.close();
    current = new View(id);
    current.follow();
  }

  document.getElementById("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    sessionStorage.setItem("jsonvisor-token", token);
    document.getElementById("token-form").hidden = true;
    location.reload();
  });
  window.addEventListener("hashchange", route);
  followList();
  route();
})();
