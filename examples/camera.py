#!/usr/bin/python3
"""camera.py - a plain pyzmq publisher, as a robot's camera driver might be: binds a PUB
socket on the endpoint given and publishes a numbered frame every --interval seconds
(two parts, b'frame' and the number, and with --size a third: the image).
Nothing in it knows nomid (README, "Existing ZeroMQ programs join the mesh")."""

import argparse
import time

import zmq


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--bind', default='tcp://*:5556', help='where to publish (default %(default)s)')
    ap.add_argument('--interval', type=float, default=0.1, help='seconds between frames')
    ap.add_argument('--count', type=int, default=0, help='frames to send (default: until stopped)')
    ap.add_argument('--size', type=int, default=0,
                    help='bytes of image data in each frame (a third part; default none)')
    ap.add_argument('--hwm', type=int, default=0,
                    help='frames queued per subscriber before the rest are dropped '
                    '(ZMQ_SNDHWM; default libzmq\'s 1000)')
    args = ap.parse_args()

    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    if args.hwm:
        pub.setsockopt(zmq.SNDHWM, args.hwm)
    pub.bind(args.bind)
    print('camera: publishing on', pub.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    image = [b'\x80' * args.size] if args.size else []
    n = 0
    try:
        while args.count == 0 or n < args.count:
            pub.send_multipart([b'frame', str(n).encode()] + image)
            n += 1
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    pub.close(linger=0)
    ctx.term()


if __name__ == '__main__':
    main()
