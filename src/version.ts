/** This release of the membership service. */
export const VERSION = "0.1.0";
