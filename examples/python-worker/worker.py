#!/usr/bin/env python3
"""A TaskFlow worker in Python, using the standard library only.

It speaks the Connect protocol with JSON bodies over HTTP/1.1 to the scheduler's WorkerService
(docs/worker-protocol.md describes every call): it registers, leases jobs with LeaseJobs long
polls, runs each on a thread, heartbeats every lease it holds, reports outcomes, and on SIGTERM or
SIGINT stops leasing, lets running jobs finish, reports them, hands back jobs it never started and
deregisters.

Environment:
  TASKFLOW_SCHEDULER_URL           scheduler base URL (default http://127.0.0.1:50051)
  TASKFLOW_TOKEN                   bearer token of an identity with the worker role (optional)
  TASKFLOW_QUEUES                  queues to lease from, comma-separated, best first (default "default")
  TASKFLOW_CONCURRENCY             jobs run at once, 1 to 1000 (default 4)
  TASKFLOW_WORKER_ID               worker id (default <hostname>-<pid>)
  TASKFLOW_LEASE_WAIT_SECONDS      longest wait of one long poll, 1 to 60 (default 10)
  TASKFLOW_SHUTDOWN_GRACE_SECONDS  how long a stop lets running jobs finish (default 25)
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Set

log = logging.getLogger("taskflow-worker")

RPC_TIMEOUT_S = 10.0  # short calls: register, heartbeat, report, release, deregister
ABORT_WAIT_S = 5.0  # after the grace period, how long stopped handlers get to return
MAX_REPORT_BATCH = 100
# Most bytes of reports per ReportJobs call: well under the 4 MiB the scheduler reads at least. A
# larger report goes alone.
MAX_REPORT_BATCH_BYTES = 3 * 1024 * 1024


# ---- Handlers ------------------------------------------------------------------------------


class PermanentError(Exception):
    """Fails the job for good: the scheduler does not retry it, whatever attempts remain."""


@dataclass
class JobContext:
    id: str
    type: str
    queue: str
    attempt: int
    max_attempts: int
    # Set when the job is cancelled, its lease is lost, its deadline passes or a shutdown's grace
    # period ends: a handler should stop soon after. Python cannot stop a thread from outside.
    stop: threading.Event = field(default_factory=threading.Event)


Handler = Callable[[Dict[str, Any], JobContext], Any]
HANDLERS: Dict[str, Handler] = {}


def handler(job_type: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function as the handler of `job_type`."""

    def register(fn: Handler) -> Handler:
        HANDLERS[job_type] = fn
        return fn

    return register


@handler("echo")
def echo(payload: Dict[str, Any], ctx: JobContext) -> Any:
    return payload


@handler("sum")
def sum_numbers(payload: Dict[str, Any], ctx: JobContext) -> Any:
    numbers = payload.get("numbers")
    if not isinstance(numbers, list) or not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        raise PermanentError("payload.numbers must be a list of numbers")
    return {"sum": sum(numbers)}


@handler("sleep")
def sleep_ms(payload: Dict[str, Any], ctx: JobContext) -> Any:
    ms = payload.get("ms", 0)
    if not isinstance(ms, (int, float)) or ms < 0:
        raise PermanentError("payload.ms must be a non-negative number")
    if ctx.stop.wait(ms / 1000):
        raise RuntimeError("stopped before the sleep ended")
    return {"slept_ms": ms}


@handler("fail")
def fail(payload: Dict[str, Any], ctx: JobContext) -> Any:
    message = str(payload.get("message", "failed on purpose"))
    raise PermanentError(message) if payload.get("permanent") is True else RuntimeError(message)


# ---- Connect JSON over HTTP/1.1 ------------------------------------------------------------

# Codes by which the scheduler refused the call itself: the same request gets the same answer.
REFUSALS = {
    "invalid_argument", "failed_precondition", "out_of_range", "not_found",
    "already_exists", "permission_denied", "unauthenticated", "unimplemented",
}
# The code of an HTTP status that carries no Connect error body (a proxy's answer, for one).
HTTP_STATUS_CODES = {400: "internal", 401: "unauthenticated", 403: "permission_denied", 404: "unimplemented",
                     429: "unavailable", 502: "unavailable", 503: "unavailable", 504: "unavailable"}


class RpcError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def refused(self) -> bool:
        """True when the scheduler said no; any other failure may have lost an answer on the way."""
        return self.code in REFUSALS


class WorkerRpc:
    """Calls of taskflow.v1.WorkerService, one HTTP/1.1 request each."""

    def __init__(self, base_url: str, token: Optional[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, body: Dict[str, Any], timeout_s: float = RPC_TIMEOUT_S) -> Dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            "Connect-Protocol-Version": "1",
            "Connect-Timeout-Ms": str(int(timeout_s * 1000)),
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.base_url}/taskflow.v1.WorkerService/{method}"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        try:
            # The socket timeout is a little longer than the deadline the scheduler was given.
            with urllib.request.urlopen(request, timeout=timeout_s + 2) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise error_of(err.code, err.read()) from None
        except (OSError, http.client.HTTPException, ValueError) as err:  # refused, reset, timed out, cut short
            reason = getattr(err, "reason", err)
            code = "deadline_exceeded" if isinstance(reason, (TimeoutError, socket.timeout)) else "unavailable"
            raise RpcError(code, f"{method}: {reason}") from None


def error_of(status: int, body: bytes) -> RpcError:
    """The Connect error a non-200 answer carries: {"code": ..., "message": ...}."""
    try:
        parsed = json.loads(body)
        return RpcError(str(parsed["code"]), str(parsed.get("message", "")))
    except (ValueError, KeyError, TypeError):
        return RpcError(HTTP_STATUS_CODES.get(status, "unknown"), f"HTTP {status}")


def parse_duration(text: str) -> float:
    """Seconds of a protobuf JSON Duration, e.g. "10s" or "3.333s"."""
    match = re.fullmatch(r"(-?\d+)(\.\d{1,9})?s", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return float(match.group(1) + (match.group(2) or ""))


def parse_timestamp(text: str) -> float:
    """Seconds since the Unix epoch of a protobuf JSON Timestamp, e.g. "2026-12-07T10:38:05.495Z"."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        raise ValueError(f"not a timestamp: {text!r}")
    offset = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + offset).astimezone(timezone.utc)
    return whole.timestamp() + float("0" + (match.group(2) or ""))


class Backoff:
    """Exponential backoff with jitter, from `base_s` up to `max_s`."""

    def __init__(self, base_s: float = 0.2, max_s: float = 5.0) -> None:
        self.base_s, self.max_s, self.failures = base_s, max_s, 0

    def next(self) -> float:
        ceiling = min(self.max_s, self.base_s * 2 ** min(self.failures, 20))
        self.failures += 1
        return ceiling / 2 + random.random() * ceiling / 2

    def reset(self) -> None:
        self.failures = 0


# ---- Reports -------------------------------------------------------------------------------


@dataclass
class Pending:
    """A report waiting for the scheduler's answer, with its size as JSON."""

    report: Dict[str, Any]
    size: int

    @staticmethod
    def of(report: Dict[str, Any]) -> "Pending":
        return Pending(report, len(json.dumps(report).encode()))

    @property
    def token(self) -> str:
        return str(self.report["lease"]["leaseToken"])


class Reporter:
    """Sends outcomes in ReportJobs batches from a thread of its own, each batch retried until the
    scheduler answers it: reports are idempotent (a repeat is answered DUPLICATE), and finished
    work must not be lost to a transport failure. Only close() gives up, after its timeout."""

    def __init__(self, rpc: WorkerRpc, worker_id: str) -> None:
        self.rpc, self.worker_id = rpc, worker_id
        self.cond = threading.Condition()
        self.queue: List[Pending] = []
        self.sending: List[Pending] = []
        self.unbeaten: Set[str] = set()  # tokens of leases answered LOST: heartbeats leave them out
        self.closing = False
        self.give_up_at = float("inf")
        self.thread = threading.Thread(target=self._run, name="reports", daemon=True)
        self.thread.start()

    def put(self, report: Dict[str, Any]) -> None:
        pending = Pending.of(report)
        with self.cond:
            self.queue.append(pending)
            self.cond.notify()

    def leases(self) -> List[Dict[str, str]]:
        """Leases whose outcome is not recorded yet: heartbeats keep them alive meanwhile."""
        with self.cond:
            return [p.report["lease"] for p in self.sending + self.queue if p.token not in self.unbeaten]

    def stop_beating(self, token: str) -> None:
        with self.cond:
            self.unbeaten.add(token)

    def close(self, timeout_s: float) -> None:
        """Sends what is queued and waits for the answers, giving up after `timeout_s`."""
        with self.cond:
            self.closing = True
            self.give_up_at = time.monotonic() + timeout_s
            self.cond.notify()
        self.thread.join(timeout_s + RPC_TIMEOUT_S)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closing:
                    self.cond.wait()
                if not self.queue:
                    return
                # The oldest reports that fit one call: at least one, however large.
                count, size = 1, self.queue[0].size
                while count < min(len(self.queue), MAX_REPORT_BATCH) and size + self.queue[count].size <= MAX_REPORT_BATCH_BYTES:
                    size += self.queue[count].size
                    count += 1
                self.sending = self.queue[:count]
                del self.queue[:count]
            self._send(self.sending)
            with self.cond:
                self.unbeaten.difference_update(p.token for p in self.sending)
                self.sending = []

    def _send(self, batch: List[Pending]) -> None:
        backoff = Backoff(0.1, 5.0)
        failures = 0
        while True:
            try:
                answer = self.rpc.call("ReportJobs", {"workerId": self.worker_id, "reports": [p.report for p in batch]})
                break
            except RpcError as err:
                failures += 1
                # A lone report past the batch cap may be over the request size the scheduler reads:
                # it answers resource_exhausted, but over HTTP/1.1 it closes the connection as it
                # refuses, so a client still sending the body often sees only the connection reset.
                too_large = sum(p.size for p in batch) > MAX_REPORT_BATCH_BYTES and (err.code == "resource_exhausted" or failures >= 3)
                if err.refused or too_large:
                    return self._send_each_alone(batch, err)
                left = self.give_up_at - time.monotonic()
                if left <= 0:
                    log.error("reports abandoned: %s (jobs %s)", err, [p.report["lease"]["jobId"] for p in batch])
                    return
                log.warning("report failed, retrying: %s", err)
                time.sleep(min(backoff.next(), left))
        for pending, result in zip(batch, answer.get("results", [])):
            status = result.get("status", "REPORT_STATUS_UNSPECIFIED")
            level = logging.WARNING if status == "REPORT_STATUS_LEASE_LOST" else logging.DEBUG
            log.log(level, "report of job %s: %s (job %s)", pending.report["lease"]["jobId"], status, result.get("jobStatus"))

    def _send_each_alone(self, batch: List[Pending], err: RpcError) -> None:
        """A refused batch may hold one bad report: sending each alone saves the others."""
        if len(batch) > 1:
            for pending in batch:
                self._send([pending])
            return
        report = batch[0].report
        if "completed" in report and (err.code == "invalid_argument" or batch[0].size > MAX_REPORT_BATCH_BYTES):
            # A result the scheduler refuses (too large) would be refused on every run: fail for good.
            why = err.message if err.code == "invalid_argument" else f"a report of {batch[0].size} bytes is too large ({err})"
            return self._send([Pending.of(failure(report["lease"], f"result refused: {why}", True))])
        log.error("report of job %s refused: %s", report["lease"]["jobId"], err)


# ---- The worker ----------------------------------------------------------------------------


@dataclass
class Config:
    scheduler_url: str
    token: Optional[str]
    queues: List[str]
    concurrency: int
    worker_id: str
    lease_wait_s: int
    shutdown_grace_s: int

    @staticmethod
    def from_env(env: Dict[str, str]) -> "Config":
        def number(name: str, default: int, low: int, high: int) -> int:
            text = env.get(name, "") or str(default)
            if not text.isdigit() or not low <= int(text) <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
            return int(text)

        queues = [q.strip() for q in env.get("TASKFLOW_QUEUES", "default").split(",") if q.strip()]
        if not queues:
            raise ValueError("TASKFLOW_QUEUES must name at least one queue")
        return Config(
            scheduler_url=env.get("TASKFLOW_SCHEDULER_URL", "") or "http://127.0.0.1:50051",
            token=env.get("TASKFLOW_TOKEN") or None,
            queues=queues,
            concurrency=number("TASKFLOW_CONCURRENCY", 4, 1, 1000),
            worker_id=env.get("TASKFLOW_WORKER_ID", "") or f"{socket.gethostname()}-{os.getpid()}",
            lease_wait_s=number("TASKFLOW_LEASE_WAIT_SECONDS", 10, 1, 60),
            shutdown_grace_s=number("TASKFLOW_SHUTDOWN_GRACE_SECONDS", 25, 0, 3600),
        )


class Attempt:
    """One leased job running here. Its outcome is decided once, by whichever comes first: the
    handler's end, a cancel, a lost lease, the deadline or the end of a shutdown."""

    def __init__(self, leased: Dict[str, Any]) -> None:
        job = leased["job"]
        self.job = job
        self.lease = {"jobId": job["id"], "queue": job["queue"], "leaseToken": leased["leaseToken"]}
        self.ctx = JobContext(job["id"], job["type"], job["queue"], job.get("attempts", 0), job.get("maxAttempts", 0))
        self.decided = False
        self.shutdown_stopped = False
        # Measured on the scheduler's clock (start to deadline), so a skewed local clock cannot cut it short.
        started, deadline = job.get("startedAt"), leased.get("deadline")
        self.budget_s = parse_timestamp(deadline) - parse_timestamp(started) if started and deadline else None


def failure(lease: Dict[str, str], error: str, permanent: bool) -> Dict[str, Any]:
    return {"lease": lease, "failed": {"error": error[:4096], "permanent": permanent}}


class Worker:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rpc = WorkerRpc(config.scheduler_url, config.token)
        self.worker_id = config.worker_id
        self.stopping = threading.Event()  # set by SIGTERM or SIGINT
        self.heartbeats_over = threading.Event()
        self.lock = threading.Condition()  # guards running and every decision
        self.running: Dict[str, Attempt] = {}  # by lease token, until the handler's thread ends
        self.to_release: List[Dict[str, str]] = []  # leases of handlers stopped by a shutdown
        self.lease_s = 30.0
        self.reporter = Reporter(self.rpc, self.worker_id)

    def run(self) -> int:
        """Registers, leases and runs jobs until stopped, then stops gracefully. The exit status."""
        try:
            registration = self._register()
        except RpcError as err:
            log.error("registration refused: %s", err)
            return 1
        if registration is None:
            return 0
        self.lease_s = parse_duration(registration.get("leaseDuration", "30s"))
        interval_s = parse_duration(registration.get("heartbeatInterval", f"{self.lease_s / 3}s"))
        beats = threading.Thread(target=self._heartbeat_loop, args=(interval_s,), name="heartbeats", daemon=True)
        beats.start()
        log.info("worker %s started: queues %s, job types %s, concurrency %d, lease %.1fs, heartbeat %.1fs",
                 self.worker_id, self.config.queues, sorted(HANDLERS), self.config.concurrency, self.lease_s, interval_s)
        self._lease_loop()
        self._drain()
        # Shutdown must end: reports unanswered after a lease's length are given up (their jobs run again).
        self.reporter.close(self.lease_s)
        self.heartbeats_over.set()
        beats.join()
        self._call_once("DeregisterWorker", {"workerId": self.worker_id})
        log.info("worker %s stopped", self.worker_id)
        return 0

    def stop(self, signum: int, _frame: Any) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        self.stopping.set()

    def _register(self) -> Optional[Dict[str, Any]]:
        """RegisterWorker, retried while the scheduler is unreachable; None when stopped first."""
        backoff = Backoff()
        request = {"workerId": self.worker_id, "queues": self.config.queues, "jobTypes": sorted(HANDLERS),
                   "concurrency": self.config.concurrency, "hostname": socket.gethostname()}
        while not self.stopping.is_set():
            try:
                return self.rpc.call("RegisterWorker", request)
            except RpcError as err:
                if err.refused:
                    raise
                log.warning("register failed, retrying: %s", err)
                self.stopping.wait(backoff.next())
        return None

    def _lease_loop(self) -> None:
        """One LeaseJobs long poll at a time, for as many jobs as there are free slots. An ask that
        ends without an answer is sent again unchanged, request id included, so that the scheduler
        answers with the jobs it may have leased for it instead of leasing more."""
        backoff = Backoff()
        ask: Optional[Dict[str, Any]] = None
        while not self.stopping.is_set():
            with self.lock:
                free = self.config.concurrency - len(self.running)
                if free <= 0:
                    self.lock.wait(0.5)  # a signal handler cannot notify: look at `stopping` often
                    continue
            if ask is None:
                ask = {"workerId": self.worker_id, "queues": self.config.queues, "jobTypes": sorted(HANDLERS),
                       "maxJobs": free, "wait": f"{self.config.lease_wait_s}s", "requestId": uuid.uuid4().hex}
            try:
                answer = self.rpc.call("LeaseJobs", ask, self.config.lease_wait_s + RPC_TIMEOUT_S)
            except RpcError as err:
                if err.refused:
                    ask = None
                log.warning("lease failed, retrying: %s", err)
                self.stopping.wait(backoff.next())
                continue
            ask = None
            backoff.reset()
            unstarted = []
            for leased in answer.get("jobs", []):
                if self.stopping.is_set():
                    job = leased["job"]
                    unstarted.append({"jobId": job["id"], "queue": job["queue"], "leaseToken": leased["leaseToken"]})
                else:
                    self._start(leased)
            if unstarted:
                # Leased as the stop began: handed back unrun, their attempts given back.
                self._call_once("ReleaseJobs", {"workerId": self.worker_id, "leases": unstarted})
                log.info("released %d unstarted jobs", len(unstarted))

    def _start(self, leased: Dict[str, Any]) -> None:
        attempt = Attempt(leased)
        with self.lock:
            self.running[attempt.lease["leaseToken"]] = attempt
        threading.Thread(target=self._run_attempt, args=(attempt,), name=f"job-{attempt.ctx.id}", daemon=True).start()

    def _run_attempt(self, attempt: Attempt) -> None:
        timer = None
        if attempt.budget_s is not None:
            error = f"timed out after {round(attempt.budget_s * 1000)} ms"
            timer = threading.Timer(max(0.0, attempt.budget_s), self._on_deadline, (attempt, error))
            timer.daemon = True
            timer.start()
        report = run_handler(attempt)
        if timer is not None:
            timer.cancel()
        with self.lock:
            if attempt.shutdown_stopped and "failed" in report:
                if self._decide(attempt, None):  # the stop made it fail: handed back by _drain
                    self.to_release.append(attempt.lease)
            else:
                self._decide(attempt, report)
            del self.running[attempt.lease["leaseToken"]]
            self.lock.notify_all()

    def _decide(self, attempt: Attempt, report: Optional[Dict[str, Any]]) -> bool:
        """Fixes the attempt's outcome unless one was fixed before; the caller holds the lock.
        The report is queued while the lock is held, so no heartbeat misses its lease."""
        if attempt.decided:
            return False
        attempt.decided = True
        attempt.ctx.stop.set()
        if report is not None:
            self.reporter.put(report)
        return True

    def _on_deadline(self, attempt: Attempt, error: str) -> None:
        with self.lock:
            if self._decide(attempt, failure(attempt.lease, error, False)):
                log.warning("job %s timed out", attempt.ctx.id)

    def _heartbeat_loop(self, interval_s: float) -> None:
        """One Heartbeat per interval with every lease held, measured from beat to beat."""
        next_at = time.monotonic() + interval_s
        while not self.heartbeats_over.wait(max(0.0, next_at - time.monotonic())):
            next_at = max(next_at + interval_s, time.monotonic())
            self._beat(min(RPC_TIMEOUT_S, max(interval_s, 1.0)))

    def _beat(self, timeout_s: float) -> None:
        with self.lock:
            leases = [a.lease for a in self.running.values() if not a.decided] + self.reporter.leases()
        try:
            answer = self.rpc.call("Heartbeat", {"workerId": self.worker_id, "leases": leases}, timeout_s)
        except RpcError as err:
            log.warning("heartbeat failed: %s", err)
            return
        for lease, state in zip(leases, answer.get("leases", [])):
            status = state.get("status")
            if state.get("jobId") != lease["jobId"] or status not in ("LEASE_STATUS_LOST", "LEASE_STATUS_CANCEL_REQUESTED"):
                continue
            with self.lock:
                attempt = self.running.get(lease["leaseToken"])
                if status == "LEASE_STATUS_LOST":
                    if attempt is not None and self._decide(attempt, None):
                        log.warning("lease of job %s lost: attempt abandoned, its outcome not reported", lease["jobId"])
                    else:
                        # Already decided: its report still goes (a late result is kept while no
                        # newer attempt started), but beating the lease is moot.
                        self.reporter.stop_beating(lease["leaseToken"])
                elif attempt is not None and self._decide(attempt, failure(lease, "cancelled", True)):
                    log.info("job %s cancelled", lease["jobId"])

    def _drain(self) -> None:
        """Lets running jobs finish within the grace period, then stops the rest and hands back
        those that do not return a result in time, their attempts counted."""
        with self.lock:
            log.info("draining %d running jobs", len(self.running))
            until = time.monotonic() + self.config.shutdown_grace_s
            while self.running and time.monotonic() < until:
                self.lock.wait(until - time.monotonic())
            for attempt in self.running.values():
                attempt.shutdown_stopped = True
                attempt.ctx.stop.set()
            until = time.monotonic() + ABORT_WAIT_S
            while any(not a.decided for a in self.running.values()) and time.monotonic() < until:
                self.lock.wait(until - time.monotonic())
            for attempt in self.running.values():
                if self._decide(attempt, None):
                    self.to_release.append(attempt.lease)
            leases, self.to_release = self.to_release, []
        if leases:
            self._call_once("ReleaseJobs", {"workerId": self.worker_id, "leases": leases, "attemptsRan": True})
            log.info("handed back %d stopped jobs", len(leases))

    def _call_once(self, method: str, body: Dict[str, Any]) -> None:
        """A best-effort call: should it fail, leases expire and history marks the worker gone."""
        try:
            self.rpc.call(method, body)
        except RpcError as err:
            log.warning("%s failed: %s", method, err)


def run_handler(attempt: Attempt) -> Dict[str, Any]:
    """Runs the job's handler; the report of its outcome."""
    lease, ctx = attempt.lease, attempt.ctx
    fn = HANDLERS.get(ctx.type)
    if fn is None:
        return failure(lease, f"no handler for job type {ctx.type}", False)
    try:
        value = fn(attempt.job.get("payload") or {}, ctx)
    except PermanentError as err:
        return failure(lease, str(err) or type(err).__name__, True)
    except Exception as err:  # noqa: BLE001 - any error a handler raises fails the attempt
        return failure(lease, str(err) or type(err).__name__, False)
    try:
        result = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        # The same code returns the same value on every attempt: retrying cannot help.
        return failure(lease, f"handler result is not JSON: {err}", True)
    return {"lease": lease, "completed": {"result": result}}


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = Config.from_env(dict(os.environ))
    except ValueError as err:
        log.error("bad configuration: %s", err)
        return 2
    worker = Worker(config)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
