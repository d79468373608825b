/** The release, as the API, the CLI and exported OCSF events name it. */
export const MANDATE_VERSION = '0.1.0';
