/** Where a failure inside our observation code goes; never thrown into the application. */
export type HookErrorSink = (error: unknown) => void;
