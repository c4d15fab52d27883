// Downloads one URL to the end in its own process (so that reading a large
// answer costs the viewer's process nothing) and prints its size and how
// long the request took (from sending it to the last byte).
const [url] = process.argv.slice(2);
const start = performance.now();
const response = await fetch(url);
let bytes = 0;
for await (const piece of response.body) bytes += piece.length;
process.stdout.write(JSON.stringify({ status: response.status, bytes, ms: performance.now() - start }));
