"""A non-JavaScript client for the gRPC benchmark: Debian's python3-grpcio (gRPC C-core).

Sends the same pre-encoded CreateWorkUnit request (bytes from the Node harness, so no
protobuf package is needed here) sequentially over one channel, and, for comparison from
the same client process, the same unit as HTTP POSTs over one raw keep-alive socket.
Prints one JSON line: p50, p99 and max in microseconds for each case.

    python3 unary_client.py ROUNDS COUNT CASE... where CASE is
      grpc:PORT:HEX_REQUEST  or  http:PORT:HEX_BODY  or  stream:PORT:HEX_REQUEST
"""
import json
import socket
import sys
import time

import grpc

METHOD = "/engram.v3.EngramService/CreateWorkUnit"
STREAM_METHOD = "/engram.v3.EngramService/CreateWorkUnits"
identity = lambda b: b  # noqa: E731


def percentiles(samples):
    s = sorted(samples)
    n = len(s)
    return {"p50": s[n // 2], "p99": s[min(n - 1, int(n * 0.99))], "max": s[-1], "count": n}


def grpc_case(port, request, count):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.unary_unary(METHOD, request_serializer=identity, response_deserializer=identity)
    for _ in range(200):  # warm the channel and the server's path
        call(request)
    out = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        call(request)
        out.append((time.perf_counter_ns() - t0) / 1000)
    channel.close()
    return percentiles(out)


def stream_case(port, request, count):
    """One CreateWorkUnits stream: `count` requests sent as fast as the stream takes them; units/s."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.stream_stream(STREAM_METHOD, request_serializer=identity, response_deserializer=identity)
    t0 = time.perf_counter()
    acks = 0
    for _ in call(iter([request] * count)):
        acks += 1
    seconds = time.perf_counter() - t0
    channel.close()
    return {"unitsPerSecond": round(acks / seconds), "acks": acks, "seconds": round(seconds, 3)}


def http_case(port, body, count):
    head = f"POST /workunit HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    request = head + body
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def one():
        sock.sendall(request)
        data = b""
        while True:
            data += sock.recv(65536)
            end = data.find(b"\r\n\r\n")
            if end == -1:
                continue
            headers = data[:end].decode("latin1").lower()
            length = int(headers.split("content-length:")[1].split("\r\n")[0])
            if len(data) >= end + 4 + length:
                if not headers.startswith("http/1.1 201"):
                    raise RuntimeError(headers.split("\r\n")[0])
                return

    for _ in range(200):
        one()
    out = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        one()
        out.append((time.perf_counter_ns() - t0) / 1000)
    sock.close()
    return percentiles(out)


def main():
    rounds, count = int(sys.argv[1]), int(sys.argv[2])
    cases = [a.split(":", 2) for a in sys.argv[3:]]
    results = {f"{kind}:{port}": [] for kind, port, _ in cases}
    for r in range(rounds):
        # Alternate the order from round to round, as the Node harness does.
        for kind, port, payload in cases[r % len(cases):] + cases[: r % len(cases)]:
            data = bytes.fromhex(payload)
            run = {"grpc": grpc_case, "http": http_case, "stream": stream_case}[kind]
            results[f"{kind}:{port}"].append(run(int(port), data, count))
    print(json.dumps(results))


main()
