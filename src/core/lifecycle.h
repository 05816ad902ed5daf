/* SPDX-License-Identifier: Apache-2.0 */
/* The lead lifecycle: which status changes are allowed, and the free-mail domains that never signal a
 * company conflict. */
#ifndef RF_LIFECYCLE_H
#define RF_LIFECYCLE_H

#include <stdbool.h>

/* True for a known lead status. */
bool rf_lead_status_valid(const char *s);

/* True for a known lead source. */
bool rf_lead_source_valid(const char *s);

/* True when a person may move a lead from one status to another: forward through new, contacted, qualified,
 * converted; to lost from any open status; from lost back to new or contacted. Review statuses (pending_review,
 * rejected) change only through approve and reject, and converted is final. */
bool rf_lead_transition_ok(const char *from, const char *to);

/* True for a lead that is still being worked (a conflict for a new registration): new, contacted, qualified,
 * pending_review; converted leads are customers and conflict too. */
bool rf_lead_blocks_registration(const char *status);

/* True for an email domain that many unrelated people share (gmail.com, outlook.com …): two leads on it are
 * not the same company. */
bool rf_email_domain_is_free(const char *domain);

#endif
