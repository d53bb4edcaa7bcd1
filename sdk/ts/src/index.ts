// Arbiter's TypeScript client SDK. See README.md.
export {};
