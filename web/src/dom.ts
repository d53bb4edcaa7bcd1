// The page's DOM: elements by ID (the page's HTML is ours, so a missing one
// is a bug, reported at once), and small formatting rules shared by the
// screens.

/** Returns the element with ID id, of type T. @throws Error if the page has none. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) {
    throw new Error(`demo: the page has no #${id}`);
  }
  return el as T;
}

/** Shows or hides el. */
export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

/** Returns a new element of tag with class name cls (if any) and text (if any). */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls !== "") {
    el.className = cls;
  }
  if (text !== "") {
    el.textContent = text;
  }
  return el;
}

/** Formats a duration in ms as m:ss, with tenths under ten seconds. */
export function clockText(ms: number): string {
  const t = Math.max(ms, 0);
  if (t < 10_000) {
    return `0:0${Math.floor(t / 1000)}.${Math.floor((t % 1000) / 100)}`;
  }
  const s = Math.ceil(t / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Formats a byte rate for the stats panel. */
export function rateText(bytesPerSecond: number): string {
  if (bytesPerSecond >= 10_240) {
    return `${(bytesPerSecond / 1024).toFixed(0)} KiB/s`;
  }
  if (bytesPerSecond >= 1024) {
    return `${(bytesPerSecond / 1024).toFixed(1)} KiB/s`;
  }
  return `${Math.round(bytesPerSecond)} B/s`;
}

/** Formats a rating (stored with two decimals) as the page shows it. */
export function ratingText(r: number): string {
  return r.toFixed(0);
}

/** Formats a signed rating change: +16, −16, ±0. */
export function deltaText(d: number): string {
  const r = Math.round(d);
  if (r > 0) {
    return `+${r}`;
  }
  if (r < 0) {
    return `−${-r}`;
  }
  return "±0";
}
