"""The mask worker: segmentation in a child process, so that OBS's graphics thread never waits for it.

Client side (inside OBS):
    ``client``       MaskWorkerClient: starts, feeds, supervises and restarts one worker; never blocks
    ``process``      one worker process as the client holds it: child, segment and channel, freed together
    ``channel``      command and event lines over the pipes, with a backlog for a full pipe
    ``pipes``        the child's stdin and stdout without blocking (non-blocking, or helper threads)
    ``interpreter``  which Python runs the child (the one OBS embeds) and its environment

Both sides:
    ``protocol``     the messages (typed), their encoding, the clock, the command line, WorkerState
    ``shared_block`` the shared-memory segment: layout, frame and result slots
    ``log_file``     the worker's log file: rotated by the client, capped by the worker

Worker side (the child, ``python -m obs_blur.mask_worker``):
    ``server``       the child's main loop: commands in, masks and events out

Nothing here imports ``obs_blur.obs`` or OBS; the worker side never imports the client side.
Why it is built this way: docs/WORKER.md.
"""
