export class UnitSyntaxError extends Error {
    /** @param {string} message */
    constructor(message: string);
}
/**
 * [Service] directives that confine the process (systemd.exec(5): users and groups,
 * capabilities, security, sandboxing, system call filtering; systemd.resource-control(5): IP and
 * device access). These must be equal in both units.
 * @type {ReadonlySet<string>}
 */
export const HARDENING_KEYS: ReadonlySet<string>;
/**
 * [Service] directives that legitimately differ between the two units (how the program is
 * started, restarted and fed its environment). NixOS adds Environment= and X-* lines of its own.
 * @type {ReadonlySet<string>}
 */
export const OPERATIONAL_KEYS: ReadonlySet<string>;
export function parseUnit(text: string, source?: string): ReadonlyMap<string, Settings>;
export function hardeningOf(unit: ReadonlyMap<string, Settings>, source?: string): Settings;
export function compareHardening(left: Settings, right: Settings, leftName: string, rightName: string): ReadonlyArray<string>;
export function parseHardeningNix(text: string, source?: string): Settings;
export function settingsFromNixJson(json: unknown): Settings;
export function settingsToJson(settings: Settings): string;
/**
 * key → values, one per line, in order
 */
export type Settings = ReadonlyMap<string, ReadonlyArray<string>>;
