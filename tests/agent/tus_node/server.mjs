// The official tus server (@tus/server + @tus/file-store) on 127.0.0.1 for the interop test.
// Usage: node server.mjs DIRECTORY — prints "listening PORT" once ready, on a free port.
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const directory = process.argv[2];
const server = new Server({ path: "/files", datastore: new FileStore({ directory }) });
const listener = server.listen({ host: "127.0.0.1", port: 0 }, () => {
  console.log(`listening ${listener.address().port}`);
});
