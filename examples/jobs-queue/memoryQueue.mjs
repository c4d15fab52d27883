/**
 * An in-memory stand-in for BullMQ's Queue and Worker (same call shapes:
 * queue.add(name, data), new Worker(queueName, processor, { concurrency }),
 * worker.on("completed" | "failed"), worker.close()), so that the example
 * runs without a Redis server. Job data is copied through JSON, as Redis would.
 */
import { AsyncResource } from "node:async_hooks";
import { EventEmitter } from "node:events";

const queues = new Map();

function pendingOf(name) {
  let queue = queues.get(name);
  if (!queue) queues.set(name, (queue = { jobs: [], workers: new Set(), nextId: 1 }));
  return queue;
}

export class Queue {
  constructor(name) {
    this.name = name;
  }

  async add(name, data) {
    const queue = pendingOf(this.name);
    const job = { id: String(queue.nextId++), name, data: JSON.parse(JSON.stringify(data)), attemptsMade: 0 };
    queue.jobs.push(job);
    for (const worker of queue.workers) setImmediate(() => worker.pump());
    return job;
  }

  async close() {}
}

export class Worker extends EventEmitter {
  constructor(queueName, processor, { concurrency = 1 } = {}) {
    super();
    this.queue = pendingOf(queueName);
    this.processor = processor;
    this.concurrency = concurrency;
    this.active = 0;
    this.closed = false;
    // Like BullMQ's Redis polling, jobs run in the worker's own async context, never in the producer's.
    this.pump = AsyncResource.bind(this.pump.bind(this));
    this.queue.workers.add(this);
    setImmediate(() => this.pump());
  }

  pump() {
    while (!this.closed && this.active < this.concurrency && this.queue.jobs.length > 0) {
      const job = this.queue.jobs.shift();
      this.active++;
      setImmediate(async () => {
        try {
          job.returnvalue = await this.processor(job);
          this.emit("completed", job, job.returnvalue);
        } catch (error) {
          job.attemptsMade++;
          this.emit("failed", job, error);
        } finally {
          this.active--;
          this.pump();
        }
      });
    }
  }

  async close() {
    this.closed = true;
    this.queue.workers.delete(this);
  }
}
