// Builds the demo page into dist/ (or --outdir DIR): app.js, the TypeScript
// of src/ and of the SDK it imports (../sdk/ts/src) bundled and minified;
// style.css minified; index.html copied. esbuild's output depends only on
// its version and its inputs, so dist/ is committed and a Go test
// (web/web_test.go) rebuilds it into a temporary folder and compares bytes.
//
// Usage: node build.mjs [--outdir DIR]
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

function outdir() {
  const i = process.argv.indexOf("--outdir");
  if (i < 0) {
    return join(here, "dist");
  }
  const dir = process.argv[i + 1];
  if (dir === undefined || dir === "") {
    throw new Error("build.mjs: --outdir needs a folder");
  }
  return resolve(dir);
}

// The SDK's files import @bufbuild/protobuf, which Node-style resolution
// would look for under sdk/ts/node_modules: resolve it from web/ instead, so
// that the bundle has one copy, of the version web/package-lock.json pins,
// whether or not the SDK's own node_modules exist.
const protobufFromWeb = {
  name: "protobuf-from-web",
  setup(build) {
    build.onResolve({ filter: /^@bufbuild\/protobuf(\/|$)/ }, (args) => {
      if (args.pluginData === "from-web") {
        return undefined;
      }
      return build.resolve(args.path, { kind: args.kind, resolveDir: here, pluginData: "from-web" });
    });
  },
};

const out = outdir();
await mkdir(out, { recursive: true });
const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  charset: "utf8",
  legalComments: "eof",
  logLevel: "warning",
  target: ["es2022", "chrome109", "firefox115", "safari16"],
};
await esbuild.build({
  ...common,
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(out, "app.js"),
  format: "iife",
  platform: "browser",
  plugins: [protobufFromWeb],
});
await esbuild.build({
  ...common,
  entryPoints: [join(here, "static", "style.css")],
  outfile: join(out, "style.css"),
});
await copyFile(join(here, "static", "index.html"), join(out, "index.html"));
