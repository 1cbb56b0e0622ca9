import { startSimulatedVllm } from "./testing/vllm_sim.ts";
const sim = startSimulatedVllm({});
await Deno.writeTextFile("/tmp/sim.url", sim.url + " " + sim.models.join(","));
setInterval(() => Deno.writeTextFileSync("/tmp/sim.stats", JSON.stringify(sim.stats())), 500);
