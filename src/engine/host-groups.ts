/** The groups --limit takes besides host names and globs; on their own so completion loads no glob matcher. */
export const HOST_GROUPS = ['master', 'workers', 'all'] as const;
