#!/usr/bin/python3
"""planner.py - a plain pyzmq subscriber, as a robot's planner might be: connects a SUB
socket to the camera endpoint given and prints every frame it receives, one line each.
Nothing in it knows nomid: given --camera svc://camera under `nomid exec` it finds the
camera by name (README, "Existing ZeroMQ programs join the mesh")."""

import argparse
import signal

import zmq


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--camera', default='tcp://127.0.0.1:5556',
                    help='the camera\'s endpoint (default %(default)s)')
    ap.add_argument('--count', type=int, default=0, help='frames to read (default: until stopped)')
    ap.add_argument('--stop-after', type=int, default=0, metavar='N',
                    help='a planner that hangs: after N frames, stop reading but stay '
                    'connected until stopped (default: never)')
    ap.add_argument('--hwm', type=int, default=0,
                    help='frames queued here unread (ZMQ_RCVHWM; past it the camera queues, '
                    'then drops; default libzmq\'s 1000)')
    args = ap.parse_args()

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    if args.hwm:
        sub.setsockopt(zmq.RCVHWM, args.hwm)
    sub.setsockopt(zmq.SUBSCRIBE, b'frame')
    sub.connect(args.camera)
    n = 0
    try:
        while args.count == 0 or n < args.count:
            if args.stop_after and n == args.stop_after:
                print('planner: stopped reading after %d frames' % n, flush=True)
                while True:
                    signal.pause()  # until Ctrl-C (KeyboardInterrupt) or killed
            topic, number = sub.recv_multipart()[:2]
            print('planner: got %s %s' % (topic.decode(), number.decode()), flush=True)
            n += 1
    except KeyboardInterrupt:
        pass
    sub.close(linger=0)
    ctx.term()


if __name__ == '__main__':
    main()
