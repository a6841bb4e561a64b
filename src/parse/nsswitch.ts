import { eachLine, splitWords } from './text-lines.js';

/** An NSS status a bracket action can name (nsswitch.conf(5)). */
export type NssStatus = 'SUCCESS' | 'NOTFOUND' | 'UNAVAIL' | 'TRYAGAIN';
export type NssAction = 'return' | 'continue' | 'merge';

/** One service of a database line, with its bracket actions (`[!UNAVAIL=return]` sets every status but UNAVAIL). */
export interface NssService {
  name: string;
  /** Only the statuses the line sets; the rest take glibc's defaults. */
  actions: Partial<Record<NssStatus, NssAction>>;
  /** The service as written, brackets included, for evidence. */
  text: string;
}

/** One database line, such as `hosts: files dns`. */
export interface NssDatabase {
  name: string;
  line: number;
  services: NssService[];
}

const STATUSES: readonly NssStatus[] = ['SUCCESS', 'NOTFOUND', 'UNAVAIL', 'TRYAGAIN'];

/** What glibc does on a status no bracket names: return on success, carry on otherwise. */
export function nssDefaultAction(status: NssStatus): NssAction {
  return status === 'SUCCESS' ? 'return' : 'continue';
}

/** The action a service takes on `status`. */
export function nssActionOf(service: NssService, status: NssStatus): NssAction {
  return service.actions[status] ?? nssDefaultAction(status);
}

/** Parses one bracket `[!UNAVAIL=return NOTFOUND=continue]` into the actions it sets. */
function parseBracket(inner: string): Partial<Record<NssStatus, NssAction>> {
  const actions: Partial<Record<NssStatus, NssAction>> = {};
  for (const item of splitWords(inner)) {
    const m = /^(!?)([A-Za-z]+)=([A-Za-z]+)$/.exec(item);
    if (!m) continue;
    const status = m[2]!.toUpperCase() as NssStatus;
    const action = m[3]!.toLowerCase() as NssAction;
    if (!STATUSES.includes(status) || !['return', 'continue', 'merge'].includes(action)) continue;
    if (m[1] === '!')
      for (const s of STATUSES) {
        if (s !== status) actions[s] = action;
      }
    else actions[status] = action;
  }
  return actions;
}

/** Parses the services of one line's value: words, each optionally followed by a bracket. */
export function parseNssServices(value: string): NssService[] {
  const services: NssService[] = [];
  const re = /\[([^\]]*)\]?|([^\s[]+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    if (m[2] !== undefined) {
      services.push({ name: m[2], actions: {}, text: m[2] });
      continue;
    }
    const last = services[services.length - 1];
    // A bracket before any service is ignored by glibc too.
    if (!last) continue;
    last.actions = { ...last.actions, ...parseBracket(m[1] ?? '') };
    last.text += ` [${(m[1] ?? '').trim()}]`;
  }
  return services;
}

/** Parses nsswitch.conf: every `db: services` line; comments and blank lines skipped; the last line of a database wins, as in glibc. */
export function parseNsswitch(text: string): Map<string, NssDatabase> {
  const dbs = new Map<string, NssDatabase>();
  for (const { line, text: raw } of eachLine(text)) {
    const body = raw.replace(/#.*$/, '').trim();
    const m = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(body);
    if (!m) continue;
    dbs.set(m[1]!, { name: m[1]!, line, services: parseNssServices(m[2]!) });
  }
  return dbs;
}
