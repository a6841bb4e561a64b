// The pure parsers: text or bytes in, data out, no I/O.
export * from './parse-error.js';
export * from './resolv-conf.js';
export * from './mountinfo.js';
export * from './fstab.js';
export * from './keyfile.js';
export * from './schroot-config.js';
export * from './xauthority.js';
export * from './ping-output.js';
export * from './dns-response.js';
export * from './display.js';
export * from './pulse-server.js';
export * from './passwd.js';
export * from './nspawn-args.js';
