"""Sum py-spy's collapsed stacks (``--format raw``) per function: where the time goes.

``python -m benchmarks.stacks FILE [--top N] [--match TEXT]`` prints, for the N
functions with the most samples anywhere on the stack (inclusive), their share of all
samples; ``--match`` keeps only functions whose "name (file)" contains TEXT. Idle
threads (waiting in ``select``/``wait``/``sleep``) are left out of the total.
"""

import argparse
import collections

IDLE = ('select (', 'wait (', 'sleep (', 'poll (', '_wait_for_tstate_lock', 'epoll',
        'accept (', 'recv_into (', 'readinto (')


def read(path):
    stacks = []
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(' ')
            if stack:
                stacks.append((stack.split(';'), int(count)))
    return stacks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('file')
    parser.add_argument('--top', type=int, default=40)
    parser.add_argument('--match', default='')
    args = parser.parse_args()
    inclusive = collections.Counter()
    total = 0
    for frames, count in read(args.file):
        if any(marker in frames[-1] for marker in IDLE):
            continue
        total += count
        for frame in set(frames):
            name = frame.rsplit(':', 1)[0] + ')' if ':' in frame else frame
            inclusive[name] += count
    print(f'{total} busy samples')
    shown = 0
    for name, count in inclusive.most_common():
        if args.match in name:
            print(f'{100 * count / total:5.1f}%  {name}')
            shown += 1
            if shown >= args.top:
                break


if __name__ == '__main__':
    main()
