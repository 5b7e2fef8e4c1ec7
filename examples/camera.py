#!/usr/bin/python3
"""camera.py - a plain pyzmq publisher, as a robot's camera driver might be: binds a PUB
socket on the endpoint given and publishes a numbered frame every --interval seconds.
Nothing in it knows nomid (README, "Existing ZeroMQ programs join the mesh")."""

import argparse
import time

import zmq


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--bind', default='tcp://*:5556', help='where to publish (default %(default)s)')
    ap.add_argument('--interval', type=float, default=0.1, help='seconds between frames')
    ap.add_argument('--count', type=int, default=0, help='frames to send (default: until stopped)')
    args = ap.parse_args()

    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.bind(args.bind)
    print('camera: publishing on', pub.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    n = 0
    try:
        while args.count == 0 or n < args.count:
            pub.send_multipart([b'frame', str(n).encode()])
            n += 1
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    pub.close(linger=0)
    ctx.term()


if __name__ == '__main__':
    main()
