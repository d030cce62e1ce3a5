// Applying changes of ConfigMap `frappe-operator-config` while the operator runs (API.md §4.1):
// an informer on that one ConfigMap in the operator's namespace feeds every change to the
// configuration holder, whose subscribers (the controllers) apply what concerns them. Invalid
// values keep the previous ones and are reported in the log and as a Warning event on the
// ConfigMap; settings that need a restart say so in the log.
import type { Cache } from '../kube/cache.ts';
import type { Logger } from '../kube/logger.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { ConfigMapObject, OperatorConfigHolder } from './holder.ts';
import { describeConfigError, OPERATOR_CONFIGMAP_NAME } from './operator-config.ts';

export interface ConfigWatch {
  cache: Cache;
  events: EventRecorder;
  logger: Logger;
  /** The operator's namespace, where its ConfigMap lives. */
  namespace: string;
}

export function watchOperatorConfig(holder: OperatorConfigHolder, w: ConfigWatch): void {
  const informer = w.cache.informer<ConfigMapObject>('v1', 'ConfigMap', {
    namespace: w.namespace,
    fieldSelector: `metadata.name=${OPERATOR_CONFIGMAP_NAME}`,
  });
  const log = w.logger.child({ configMap: `${w.namespace}/${OPERATOR_CONFIGMAP_NAME}` });
  const apply = (cm: ConfigMapObject | undefined): void => {
    const u = holder.update(cm?.data);
    if (u.changed.length > 0) {
      log.info({ changed: u.changed }, 'operator configuration changed');
    }
    if (u.newUnknownKeys.length > 0) {
      log.warn({ settings: u.newUnknownKeys }, 'unknown operator configuration keys ignored');
    }
    if (u.restartRequired.length > 0) {
      log.warn({ settings: u.restartRequired }, 'changed settings take effect after a restart');
    }
    if (u.errors.length > 0) {
      const errors = u.errors.map(describeConfigError);
      const note = `Invalid values ignored, previous values kept: ${errors.join('; ')}`;
      log.warn({ errors }, 'invalid operator configuration');
      if (cm !== undefined) {
        void w.events.record(cm, {
          type: 'Warning',
          reason: 'InvalidConfiguration',
          action: 'LoadConfiguration',
          note,
        });
      }
    }
  };
  informer.addEventHandler({
    add: (cm) => {
      apply(cm);
    },
    update: (oldCm, cm) => {
      if (oldCm.metadata.resourceVersion !== cm.metadata.resourceVersion) apply(cm);
    },
    delete: () => {
      apply(undefined);
    },
  });
}
