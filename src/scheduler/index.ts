/** Schedules, jobs and the worker fleet; also the long-running runtime the server shares. */
export { CdpRuntime, type RuntimeOptions, type SyncCatalog } from './runtime';
export { SchedulerService, type SchedulerServiceOptions } from './service';
export { Scheduler, jobOfKey, scheduleViewSchema, type ScheduleEntry, type ScheduleView } from './scheduler';
export { scheduleSpecSchema, parseScheduleValue, nextFire, describeSpec, type ScheduleSpec } from './schedule-spec';
export { jobKinds, jobStatuses, jobOptionsSchema, listJobs, getJob, type JobKind, type JobStatus, type JobRecord, type JobRequest, type JobOptions } from './job-records';
export { DestinationStore, destinationInputSchema, rotateDestinationSecrets, ValidationError, type DestinationInput, type DestinationView } from './destination-store';
export { createSecretBox, SECRET_KEY_ENV, type SecretBox } from './secret-box';
export { secretFields, configJsonSchema, splitSecrets, type JsonObject } from './config-secrets';
export { evaluateSyncRun, applyAlerts, loadAlertsConfig, alertsFileSchema, ALERTS_FILE, type AlertsConfig, type AlertSender } from './alerts';
export { createLogger, silentLogger, type Logger, type LogFields } from './logger';
