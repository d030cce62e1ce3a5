// The site's Ingress `<site>-ingress` (API.md §3.3): host = the resolved domain, path `/`
// Prefix → Service `<bench>-nginx` port 8080; annotations: proxy body size 100m, under TLS the
// cert-manager issuer and ssl-redirect, then the user's `ingress.annotations` (user keys win);
// TLS for the domain with `tls.secretName`. Absent while `ingress.enabled: false`.
import { childMeta } from '../shared/meta.ts';
import { KINDS, type Ingress } from '../shared/objects.ts';
import { siteChild } from './names.ts';
import { siteLabels, type SitePlan } from './plan.ts';
import { childName } from '../shared/naming.ts';

export const NGINX_PORT = 8080;

export const ingressName = (plan: Pick<SitePlan, 'name'>): string =>
  siteChild(plan.name, 'ingress');

export function siteIngress(plan: SitePlan): Ingress | undefined {
  if (!plan.ingress.enabled) return undefined;
  const tls = plan.tls;
  const annotations: Record<string, string> = {
    'nginx.ingress.kubernetes.io/proxy-body-size': '100m',
    ...(tls === undefined ? {} : { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' }),
    ...(tls?.issuer === undefined ? {} : { 'cert-manager.io/cluster-issuer': tls.issuer }),
    ...plan.ingress.annotations,
  };
  return {
    ...KINDS.Ingress,
    metadata: childMeta(plan.site, ingressName(plan), siteLabels(plan, 'nginx'), annotations),
    spec: {
      ...(plan.ingress.className === undefined ? {} : { ingressClassName: plan.ingress.className }),
      rules: [
        {
          host: plan.domain,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: {
                  service: {
                    name: childName(plan.benchName, 'nginx'),
                    port: { number: NGINX_PORT },
                  },
                },
              },
            ],
          },
        },
      ],
      ...(tls === undefined ? {} : { tls: [{ hosts: [plan.domain], secretName: tls.secretName }] }),
    },
  };
}
