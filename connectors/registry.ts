/**
 * The destination types the engine knows, by `type`. Add a connector here (one import,
 * one entry) and `destinations.yml` can use it. The engine validates each destination's
 * config against the definition's own zod schema before building a context.
 */
import type { DestinationDefinition } from './kit';
import braze from './braze';
import customerio from './customerio';
import file from './file';
import hubspot from './hubspot';
import iterable from './iterable';
import klaviyo from './klaviyo';
import sendgrid from './sendgrid';
import mailchimp from './mailchimp';
import meta from './meta';
import salesforce from './salesforce';
import googleAds from './google-ads';
import linkedin from './linkedin';
import tiktok from './tiktok';
import webhook from './webhook';

export const destinationRegistry: Readonly<Record<string, DestinationDefinition>> = {
  braze,
  customerio,
  file,
  hubspot,
  iterable,
  klaviyo,
  sendgrid,
  mailchimp,
  meta,
  salesforce,
  google_ads: googleAds,
  linkedin,
  tiktok,
  webhook,
};

export function destinationDefinition(type: string): DestinationDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(destinationRegistry, type) ? destinationRegistry[type] : undefined;
}
