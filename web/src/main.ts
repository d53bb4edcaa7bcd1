// The demo page's entry point (bundled into dist/app.js): the App, once the
// DOM is ready.
import { App } from "./app.js";

function boot(): void {
  new App().start();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot, { once: true });
} else {
  boot();
}
