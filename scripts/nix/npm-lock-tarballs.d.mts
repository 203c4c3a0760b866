/**
 * One tarball to fetch: `name` is the registry package (the alias target for `npm:` aliases),
 * `file` its name in the fetched directory, `keys` the lockfile entries installed from it.
 * @typedef {{
 *   readonly name: string,
 *   readonly version: string,
 *   readonly integrity: string,
 *   readonly file: string,
 *   readonly keys: ReadonlyArray<string>
 * }} LockTarball
 */
export class LockfileError extends Error {
    /** @param {string} message */
    constructor(message: string);
}
export function tarballFileName(name: string, version: string): string;
export function lockTarballs(lock: unknown, source?: string): ReadonlyArray<LockTarball>;
export function listLines(tarballs: ReadonlyArray<LockTarball>): string;
export function lockFingerprint(tarballs: ReadonlyArray<LockTarball>): string;
export function localizeLock(lock: unknown, dir: string, source?: string): Record<string, unknown>;
export function matchesIntegrity(bytes: Uint8Array, integrity: string): boolean;
export function fetchTarballs(tarballs: ReadonlyArray<LockTarball>, outDir: string): void;
/**
 * One tarball to fetch: `name` is the registry package (the alias target for `npm:` aliases),
 * `file` its name in the fetched directory, `keys` the lockfile entries installed from it.
 */
export type LockTarball = {
    readonly name: string;
    readonly version: string;
    readonly integrity: string;
    readonly file: string;
    readonly keys: ReadonlyArray<string>;
};
