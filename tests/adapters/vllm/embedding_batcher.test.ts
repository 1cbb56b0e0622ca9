import { it } from "@effect/vitest";
import { fc, test } from "@fast-check/vitest";
import { Deferred, Effect, Exit, Fiber, Result } from "effect";
import { TestClock } from "effect/testing";
import { describe, expect } from "vitest";
import {
  type BatchingOptions,
  makeEmbeddingBatcher,
} from "../../../adapters/vllm/embedding_batcher.ts";
import type { EmbeddingInput } from "../../../adapters/vllm/embedding_input.ts";
import {
  GpuOutOfMemory,
  InvalidInput,
  Permanent,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import { simulatedEmbedding } from "../../../testing/vllm_sim.ts";

const vectorOf = (text: string): ReadonlyArray<number> => simulatedEmbedding(text, 4);

const inputsOf = (caller: string, count: number): ReadonlyArray<EmbeddingInput> =>
  Array.from({ length: count }, (_, i) => ({ id: `${caller}:${i}`, text: `${caller} text ${i}` }));

/**
 * A stand-in for the embeddings request: logs the ids of each batch, holds it until `release`
 * (when `held`), fails it when `failWith` says so, and answers one vector per text otherwise.
 */
const fakeRequest = (
  options: {
    readonly held?: boolean;
    readonly failWith?: (inputs: ReadonlyArray<EmbeddingInput>) => StageError | undefined;
  } = {},
) => {
  const batches: Array<ReadonlyArray<string>> = [];
  let inFlight = 0;
  let peak = 0;
  const gate = Deferred.makeUnsafe<void>();
  const send = (inputs: ReadonlyArray<EmbeddingInput>) =>
    Effect.gen(function* () {
      batches.push(inputs.map((input) => input.id));
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      // Stays in flight across scheduler turns, as a real request does.
      yield* options.held === true ? Deferred.await(gate) : Effect.yieldNow;
      inFlight -= 1;
      const error = options.failWith?.(inputs);
      if (error !== undefined) return yield* Effect.fail(error);
      return inputs.map((input) => vectorOf(input.text));
    });
  return {
    send,
    batches,
    peak: () => peak,
    release: Deferred.succeed(gate, undefined),
  };
};

// Lets forked fibers run until they block.
const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow, {
  discard: true,
});

describe("makeEmbeddingBatcher()", () => {
  test.prop(
    [
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 16 }),
      fc.integer({ min: 1, max: 4 }),
    ],
    { numRuns: 60 },
  )(
    "coalesces concurrent callers into ceil(texts / maxBatchSize) requests, each caller getting its own vectors in order",
    async (sizes, maxBatchSize, maxConcurrentRequests) => {
      const fake = fakeRequest();
      const callers = sizes.map((size, c) => inputsOf(`doc${c}`, size));
      const results = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
        const batcher = yield* makeEmbeddingBatcher({
          send: fake.send,
          maxBatchSize,
          maxConcurrentRequests,
        });
        return yield* Effect.forEach(callers, (inputs) => batcher.embed(inputs), {
          concurrency: "unbounded",
        });
      })));
      expect(results).toEqual(callers.map((inputs) => inputs.map((i) => vectorOf(i.text))));
      const total = sizes.reduce((sum, n) => sum + n, 0);
      expect(fake.batches).toHaveLength(Math.ceil(total / maxBatchSize));
      expect(fake.batches.every((batch) => batch.length <= maxBatchSize)).toBe(true);
      // Every text sent exactly once, in queue order.
      expect(fake.batches.flat()).toEqual(callers.flat().map((input) => input.id));
      expect(fake.peak()).toBeLessThanOrEqual(maxConcurrentRequests);
    },
  );

  it.effect("sends a partial batch once it has lingered lingerMs while a request is in flight", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ held: true });
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send, maxBatchSize: 4 });
      const first = yield* Effect.forkChild(batcher.embed(inputsOf("a", 1)));
      yield* settle;
      // Nothing was in flight: the first text went at once.
      expect(fake.batches).toEqual([["a:0"]]);
      const second = yield* Effect.forkChild(batcher.embed(inputsOf("b", 2)));
      yield* settle;
      yield* TestClock.adjust("4 millis");
      yield* settle;
      expect(fake.batches).toEqual([["a:0"]]);
      yield* TestClock.adjust("1 millis");
      yield* settle;
      expect(fake.batches).toEqual([["a:0"], ["b:0", "b:1"]]);
      // A full batch does not wait.
      const third = yield* Effect.forkChild(batcher.embed(inputsOf("c", 4)));
      yield* settle;
      expect(fake.batches).toEqual([["a:0"], ["b:0", "b:1"], ["c:0", "c:1", "c:2", "c:3"]]);
      yield* fake.release;
      expect(yield* Fiber.join(first)).toEqual([vectorOf("a text 0")]);
      expect(yield* Fiber.join(second)).toEqual([vectorOf("b text 0"), vectorOf("b text 1")]);
      expect((yield* Fiber.join(third)).length).toBe(4);
    }));

  it.effect("keeps at most maxConcurrentRequests in flight and sends the rest when one ends", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ held: true });
      const batcher = yield* makeEmbeddingBatcher({
        send: fake.send,
        maxBatchSize: 2,
        maxConcurrentRequests: 2,
      });
      const fiber = yield* Effect.forkChild(batcher.embed(inputsOf("a", 7)));
      yield* settle;
      yield* TestClock.adjust("1 minute");
      yield* settle;
      expect(fake.batches).toEqual([["a:0", "a:1"], ["a:2", "a:3"]]);
      yield* fake.release;
      const vectors = yield* Fiber.join(fiber);
      expect(vectors).toEqual(inputsOf("a", 7).map((i) => vectorOf(i.text)));
      expect(fake.batches).toEqual([["a:0", "a:1"], ["a:2", "a:3"], ["a:4", "a:5"], ["a:6"]]);
      expect(fake.peak()).toBe(2);
    }));

  const tooLongIn = (inputs: ReadonlyArray<EmbeddingInput>): StageError | undefined => {
    const bad = inputs.find((input) => input.text.includes("TOO LONG"));
    return bad === undefined
      ? undefined
      : new InvalidInput({ message: `chunk ${bad.id} is too long`, path: bad.id });
  };

  it.effect("splits a request rejected for one over-long text until only its caller fails", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ failWith: tooLongIn });
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
      const callers = [
        inputsOf("a", 2),
        [{ id: "b:0", text: "b fine" }, { id: "b:1", text: "b TOO LONG" }],
        inputsOf("c", 2),
        inputsOf("d", 1),
      ];
      const results = yield* Effect.forEach(
        callers,
        (inputs) => Effect.result(batcher.embed(inputs)),
        { concurrency: "unbounded" },
      );
      expect(fake.batches).toEqual([
        ["a:0", "a:1", "b:0", "b:1", "c:0", "c:1", "d:0"],
        ["a:0", "a:1", "b:0", "b:1"],
        ["a:0", "a:1"],
        ["b:0", "b:1"],
        ["c:0", "c:1", "d:0"],
      ]);
      expect(results).toEqual([
        Result.succeed(callers[0].map((i) => vectorOf(i.text))),
        Result.fail(new InvalidInput({ message: "chunk b:1 is too long", path: "b:1" })),
        Result.succeed(callers[2].map((i) => vectorOf(i.text))),
        Result.succeed(callers[3].map((i) => vectorOf(i.text))),
      ]);
    }));

  it.effect("fails every caller of a request that fails with a GPU error, sending it once", () =>
    Effect.gen(function* () {
      const oom = new GpuOutOfMemory({
        message: "POST …/v1/embeddings: HTTP 500: CUDA out of memory",
      });
      const fake = fakeRequest({ failWith: () => oom });
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
      const results = yield* Effect.forEach(
        [inputsOf("a", 2), inputsOf("b", 1), inputsOf("c", 3)],
        (inputs) => Effect.result(batcher.embed(inputs)),
        { concurrency: "unbounded" },
      );
      expect(results).toEqual([Result.fail(oom), Result.fail(oom), Result.fail(oom)]);
      expect(fake.batches).toEqual([["a:0", "a:1", "b:0", "c:0", "c:1", "c:2"]]);
    }));

  it.effect("does not split on an InvalidInput that names no text of the request", () =>
    Effect.gen(function* () {
      const proxyPage = new InvalidInput({ message: "not JSON", path: "http://gpu-1:8000/v1" });
      const fake = fakeRequest({ failWith: () => proxyPage });
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
      const results = yield* Effect.forEach(
        [inputsOf("a", 1), inputsOf("b", 1)],
        (inputs) => Effect.result(batcher.embed(inputs)),
        { concurrency: "unbounded" },
      );
      expect(results).toEqual([Result.fail(proxyPage), Result.fail(proxyPage)]);
      expect(fake.batches).toEqual([["a:0", "b:0"]]);
    }));

  it.effect("drops the texts of an interrupted caller and answers the others", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ held: true });
      const batcher = yield* makeEmbeddingBatcher({
        send: fake.send,
        maxBatchSize: 2,
        maxConcurrentRequests: 1,
      });
      const a = yield* Effect.forkChild(batcher.embed(inputsOf("a", 1)));
      yield* settle;
      const b = yield* Effect.forkChild(batcher.embed(inputsOf("b", 1)));
      const c = yield* Effect.forkChild(batcher.embed(inputsOf("c", 1)));
      const d = yield* Effect.forkChild(batcher.embed(inputsOf("d", 1)));
      yield* settle;
      // b and c wait for the slot a's request holds; d waits behind them.
      yield* Fiber.interrupt(b);
      yield* fake.release;
      expect(yield* Fiber.join(a)).toEqual([vectorOf("a text 0")]);
      expect(yield* Fiber.join(c)).toEqual([vectorOf("c text 0")]);
      expect(yield* Fiber.join(d)).toEqual([vectorOf("d text 0")]);
      expect(fake.batches).toEqual([["a:0"], ["c:0", "d:0"]]);
    }));

  it.effect("answers a caller whose request partner was interrupted in flight", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ held: true });
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
      const a = yield* Effect.forkChild(batcher.embed(inputsOf("a", 2)));
      const b = yield* Effect.forkChild(batcher.embed(inputsOf("b", 1)));
      yield* settle;
      expect(fake.batches).toEqual([["a:0", "a:1", "b:0"]]);
      yield* Fiber.interrupt(a);
      yield* fake.release;
      expect(yield* Fiber.join(b)).toEqual([vectorOf("b text 0")]);
      expect(Exit.hasInterrupts(yield* Fiber.await(a))).toBe(true);
    }));

  it.effect("fails waiting callers with Transient when its scope closes", () =>
    Effect.gen(function* () {
      const fake = fakeRequest({ held: true });
      const waiting = yield* Effect.scoped(Effect.gen(function* () {
        const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
        const fiber = yield* Effect.forkDetach(batcher.embed(inputsOf("a", 1)));
        yield* settle;
        return fiber;
      }));
      expect(yield* Fiber.await(waiting)).toEqual(
        Exit.fail(new Transient({ message: "the embedding batcher closed before answering" })),
      );
    }));

  it.effect("answers no texts without a request and fails invalid options with Permanent", () =>
    Effect.gen(function* () {
      const fake = fakeRequest();
      const batcher = yield* makeEmbeddingBatcher({ send: fake.send });
      expect(yield* batcher.embed([])).toEqual([]);
      expect(fake.batches).toEqual([]);
      const invalid: BatchingOptions = {
        maxBatchSize: 0,
        lingerMs: -1,
        maxConcurrentRequests: 1.5,
      };
      const broken = yield* makeEmbeddingBatcher({ send: fake.send, ...invalid });
      expect(yield* Effect.flip(broken.embed(inputsOf("a", 1)))).toEqual(
        new Permanent({
          message: "invalid embedding batcher options: maxBatchSize must be a positive integer " +
            "(got 0); lingerMs must be a number of milliseconds ≥ 0 (got -1); " +
            "maxConcurrentRequests must be a positive integer (got 1.5)",
        }),
      );
      expect(fake.batches).toEqual([]);
    }));
});
