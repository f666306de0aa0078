"""Word lists and text templates for the synthetic CRM world.

Exit-interview notes are composed from an opener, one or more reason clauses (primary first),
sometimes a negated clause about a category that was NOT a reason, and a closer, as prose or
as a bullet list. Placeholders: {competitor}, {feature}, {contact}, {months}.
"""

from __future__ import annotations

ADJECTIVES = (
    "Blue", "Northern", "Silver", "Bright", "Granite", "Cedar", "Harbor", "Summit", "Crimson", "Golden",
    "Quiet", "Rapid", "Evergreen", "Iron", "Lunar", "Prairie", "Coastal", "Vivid", "Copper", "Maple",
    "Atlas", "Polar", "Sunny", "Clear", "Oak", "Falcon", "Meridian", "Pioneer", "Orchid", "Stellar",
    "Boreal", "Cobalt", "Delta", "Ember", "Fjord", "Glacier", "Horizon", "Indigo", "Juniper", "Keystone",
)
NOUNS = (
    "Harbor", "Ridge", "Works", "Labs", "Bridge", "Field", "Stone", "River", "Peak", "Forge",
    "Point", "Grove", "Path", "Wave", "Mill", "Yard", "Gate", "Valley", "Crest", "Harvest",
    "Anchor", "Beacon", "Canyon", "Dune", "Echo", "Frontier", "Garden", "Haven", "Island", "Junction",
)
SECTORS = (
    "Logistics", "Analytics", "Health", "Foods", "Energy", "Software", "Retail", "Media", "Capital",
    "Robotics", "Dental", "Legal", "Travel", "Biotech", "Freight", "Studios", "Systems", "Partners",
)
LEGAL_SUFFIXES = ("Inc", "Inc.", "LLC", "Ltd", "GmbH", "Corp", "Co.", "S.A.")
TLDS = ("com", "com", "com", "io", "co", "net", "de", "fr", "es")

INDUSTRIES = (
    "Technology", "Healthcare", "Retail", "Manufacturing", "Financial Services", "Education",
    "Transportation", "Media", "Hospitality", "Energy",
)
HUBSPOT_INDUSTRIES = {
    "Technology": "COMPUTER_SOFTWARE", "Healthcare": "HOSPITAL_HEALTH_CARE", "Retail": "RETAIL",
    "Manufacturing": "MACHINERY", "Financial Services": "FINANCIAL_SERVICES", "Education": "E_LEARNING",
    "Transportation": "LOGISTICS_AND_SUPPLY_CHAIN", "Media": "ONLINE_MEDIA",
    "Hospitality": "HOSPITALITY", "Energy": "RENEWABLES_ENVIRONMENT",
}
COUNTRIES = ("United States", "United States", "United Kingdom", "Germany", "France", "Spain", "Brazil", "Canada")

FIRST_NAMES = (
    "Ava", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kara", "Liam",
    "Maya", "Nils", "Olivia", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Ximena",
    "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego", "Emma", "Felix", "Gita", "Hana", "Ivan", "Julia",
    "Kofi", "Lena", "Marco", "Nora", "Omar", "Priya", "Rafael", "Sofia", "Theo", "Ulla", "Victor", "Wen",
)
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan",
    "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga",
    "Weber", "Xu", "Young", "Zimmer", "Alvarez", "Brennan", "Chen", "Duarte", "Eriksen", "Ferreira",
    "Gomez", "Hughes", "Iqbal", "Kowalski", "Lindqvist", "Meyer", "Nakamura", "Oliveira", "Petrov", "Ramos",
)
CHAMPION_TITLES = ("VP Operations", "Head of Customer Ops", "Director of Analytics", "COO", "Head of RevOps")
OTHER_TITLES = ("Operations Manager", "Analyst", "IT Administrator", "Finance Manager", "Team Lead", "CFO")

OWNERS = (
    ("Alex", "Morgan"), ("Priya", "Raman"), ("Jordan", "Lee"), ("Sofia", "Brandt"),
    ("Marcus", "Oyelaran"), ("Hannah", "Kim"), ("Luis", "Herrera"), ("Claire", "Dupont"),
)

COMPETITORS = ("Gainsight", "ChurnZero", "Totango", "Planhat", "Vitally", "Catalyst", "ClientSuccess", "Salesforce")
FEATURES = (
    "SSO", "SAML login", "a Snowflake integration", "audit logs", "role-based permissions", "an EU data centre",
    "a mobile app", "custom dashboards", "the Zendesk integration", "bulk export", "API rate limits we could live with",
)
FEATURE_SLUGS = {  # what the account asked for, for "feature shipped" win-back tests
    "SSO": "sso", "SAML login": "sso", "a Snowflake integration": "snowflake-integration",
    "audit logs": "audit-logs", "role-based permissions": "rbac", "an EU data centre": "eu-data-residency",
    "a mobile app": "mobile-app", "custom dashboards": "custom-dashboards",
    "the Zendesk integration": "zendesk-integration", "bulk export": "bulk-export",
    "API rate limits we could live with": "api-limits",
}

# --- stated reasons (CRM picklists / free text) -----------------------------------------------

# Salesforce Loss_Reason__c / Cancellation_Reason__c picklist values per category.
SALESFORCE_REASON_VALUES = {
    "product": ("Missing Feature", "Product Issues", "Too Complex", "Missing Integration"),
    "pricing": ("Price", "Pricing", "Too expensive", "Budget Cut"),
    "service": ("Poor Support", "Support Issues"),
    "success_process": ("Low Adoption", "Onboarding Failed"),
    "competitor": ("Competitor", "Lost to Competitor"),
    "relationship": ("Champion Left", "Reorganization"),
    "company": ("Acquired", "Out of Business", "Downsizing"),
    "needs": ("No Longer Needed", "Project Ended"),
    "involuntary": ("Payment Failed", "Non-payment"),
}
# HubSpot closed_lost_reason is free text typed by the rep.
HUBSPOT_REASON_TEXTS = {
    "product": ("Missing features", "needs SSO, we don't have it", "product too complicated for their team"),
    "pricing": ("Too expensive", "budget cut for next FY", "price increase not accepted"),
    "service": ("Unhappy with support", "support response times"),
    "success_process": ("never got fully onboarded", "low usage"),
    "competitor": ("Went with competitor", "Chose {competitor}"),
    "relationship": ("Champion left the company", "new VP, reorg"),
    "company": ("Acquired by larger group", "company closing down"),
    "needs": ("No longer needed", "project finished"),
    "involuntary": ("Payment failed", "card declined, no response to dunning"),
}
# What reps really type into HubSpot's free-text closed_lost_reason: no seed row matches these,
# so the warehouse reads them with the feedback classifier (a derived stated reason).
HUBSPOT_REASON_RETYPED = {
    "product": ("no audit log, security said no", "reporting too weak for the exec team",
                "kept hitting bugs in the mobile app", "lacked the custom fields they rely on"),
    "pricing": ("renewal quote came in way over budget", "cfo froze all software spend",
                "could not justify the cost per seat", "asked for 40% off, we said no"),
    "service": ("tickets sat for weeks w/o answer", "fed up with slow support replies",
                "the outage was handled badly, nobody called them"),
    "success_process": ("team never adopted it after kickoff", "onboarding stalled, nobody trained the users",
                        "barely anyone logged in after month 2"),
    "competitor": ("moved to {competitor}", "switched over to {competitor} in Q3",
                   "signed with {competitor} instead"),
    "relationship": ("our champion quit, new head of ops not interested", "sponsor moved on, no one picked it up",
                     "lost exec sponsor in reorg"),
    "company": ("got bought, parent company has its own tool", "they are winding down the business",
                "merged with another firm"),
    "needs": ("project wrapped up, dont need it anymore", "the use case went away",
              "pilot ended, no ongoing need"),
    "involuntary": ("cc expired and nobody updated it", "invoice never paid, account lapsed",
                    "payment bounced twice, they didnt mean to cancel"),
}
HUBSPOT_RETYPED_CATEGORY = {text: category for category, texts in HUBSPOT_REASON_RETYPED.items() for text in texts}
MISSPELLED_REASONS = ("Pricng", "Competiter", "Mising Feature", "Budjet Cut", "Champoin Left", "No Longer Neded")
MISSPELLED_CATEGORY = {
    "Pricng": "pricing", "Competiter": "competitor", "Mising Feature": "product", "Budjet Cut": "pricing",
    "Champoin Left": "relationship", "No Longer Neded": "needs",
}
UNMAPPED_REASONS = ("Other - see notes", "Timing", "TBD", "n/a - ask Jordan")

# --- exit-interview text -------------------------------------------------------------------------

EXIT_OPENERS = (
    "Exit interview with {contact}.",
    "Spoke with {contact} about why they are leaving.",
    "Offboarding call with {contact} today.",
    "Had the exit conversation with {contact}.",
    "Summary of exit interview ({contact}).",
    "Quick notes from the cancellation call with {contact}:",
    "{contact} walked us through their decision.",
    "Final call with {contact} before the contract ends.",
    "",
)
EXIT_CLOSERS = (
    "They said they might come back in a year.",
    "Left on good terms.",
    "Would consider us again if things change.",
    "No interest in a follow-up right now.",
    "Asked us to keep them posted on the roadmap.",
    "Export delivered, access ends at contract end.",
    "Overall tone was friendly.",
    "",
    "",
)
BULLET_INTROS = ("Main points:", "Why they left:", "Key takeaways:", "Feedback:", "Reasons given:")

# Reason clauses: at least 8 per category, each a complete sentence.
REASON_CLAUSES: dict[str, tuple[str, ...]] = {
    "product": (
        "They needed {feature} and we still don't have it.",
        "The product kept missing {feature}, which was a blocker for their security team.",
        "Reliability was a problem: two outages in one quarter during their busiest weeks.",
        "Their team found the tool too complex and gave up on the advanced workflows.",
        "Reporting was too limited for what they needed; dashboards kept timing out.",
        "Without {feature} they could not roll it out to the wider org.",
        "The integration with their data warehouse broke repeatedly after our updates.",
        "Users complained the UI was slow and confusing.",
        "The feature gap around {feature} was the deciding factor.",
        "Too many bugs in the export module, they lost trust in the data.",
    ),
    "pricing": (
        "The renewal price was too high for them.",
        "Their budget was cut for next year and we did not fit anymore.",
        "They felt the per-seat pricing did not match how they use the product.",
        "Finance pushed back on the price increase at renewal.",
        "Too expensive for the value they were getting.",
        "They could not justify the cost after the latest price change.",
        "Procurement asked for a 40% discount we could not give.",
        "Spend freeze across the company, all non-essential tools were cut.",
        "Our pricing model (usage based) made their bill unpredictable.",
    ),
    "service": (
        "Support tickets took days to get a first answer.",
        "They were frustrated with how we handled the outage in March; nobody updated them.",
        "Support kept closing tickets without solving the problem.",
        "Response times from support were far too slow for them.",
        "The escalation over their data sync issue dragged on for weeks.",
        "They felt support did not understand their setup.",
        "Poor experience with our support team, several tickets reopened.",
        "Incident communication was weak and late.",
    ),
    "success_process": (
        "Onboarding never really finished; half the team was never trained.",
        "Adoption stayed low after the first months, only a few users logged in.",
        "They had three different CSMs in a year and lost continuity.",
        "Implementation dragged on and they never saw the value.",
        "Nobody on our side checked in after go-live.",
        "Usage dropped off after the kickoff and we did not catch it.",
        "The rollout stalled and the team went back to spreadsheets.",
        "They never got the training sessions they were promised.",
    ),
    "competitor": (
        "They are moving to {competitor}.",
        "They switched to {competitor}, which came bundled with their CRM suite.",
        "{competitor} offered them a better deal and a similar feature set.",
        "Consolidating on {competitor} across the group.",
        "Signed with {competitor} after a bake-off.",
        "A competitor ({competitor}) won them over with a free migration.",
        "Their new parent company standardises on {competitor}.",
        "They chose {competitor} because it is already part of their stack.",
    ),
    "relationship": (
        "Our champion {contact} left the company and nobody picked it up.",
        "Their executive sponsor moved on and the new VP has other priorities.",
        "After the reorg the team that owned us was dissolved.",
        "The person who bought us left, and the replacement did not know the tool.",
        "New leadership came in and reviewed all vendors.",
        "Lost our sponsor when the head of operations resigned.",
        "Our main contact changed roles and we had no other relationships there.",
        "Internal reshuffle: new owner of the budget never engaged with us.",
    ),
    "company": (
        "They were acquired and the parent company has its own tooling.",
        "The company is shutting down operations at the end of the quarter.",
        "They went through heavy layoffs and downsized most of the team.",
        "Business closed; they are winding down.",
        "Merger with a larger group, all contracts are being consolidated.",
        "The company filed for insolvency.",
        "They were bought by a private equity firm that cut vendors.",
        "Downsizing: the department using us no longer exists.",
    ),
    "needs": (
        "The project we supported has ended.",
        "They no longer need the product; the use case went away.",
        "It was a seasonal need and they will not need it this year.",
        "They are moving the process in-house with their own scripts.",
        "The initiative was cancelled so they don't need a tool for it.",
        "They only needed it for the migration, which is done.",
        "Their business model changed and the use case is gone.",
        "No longer relevant after they stopped the customer program.",
    ),
    "involuntary": (
        "Payment failed several times and the card was never updated.",
        "Their PO lapsed and procurement did not renew it in time.",
        "Invoices went unpaid for three months.",
        "The credit card on file expired and dunning emails bounced.",
        "Billing contact left, so nobody paid the renewal invoice.",
        "Payment declined at renewal and they did not respond.",
        "Accounts payable missed the renewal and the subscription lapsed.",
        "Purchase order expired before the renewal date.",
    ),
    "unknown": (
        "They did not want to share a reason.",
        "No reason given.",
        "Contact was not available for an interview.",
        "Customer declined the exit interview.",
        "They just asked us to process the cancellation.",
        "Tried to schedule the call twice, no response.",
        "Nothing specific came up during the call.",
        "They preferred not to go into details.",
    ),
}

# "It was not X" clauses: said about a category that is NOT a reason of this note.
NEGATED_CLAUSES: dict[str, tuple[str, ...]] = {
    "pricing": ("Price was never the issue.", "Budget was not a factor.", "They were fine with the price."),
    "service": ("Support was great, no complaints there.", "They praised the support team."),
    "product": ("The product itself was fine.", "They liked the product a lot."),
    "competitor": ("They are not going to a competitor.", "Not moving to another vendor."),
    "relationship": ("Our contacts there are all still in place.",),
    "success_process": ("Onboarding went well.", "Adoption was good across the team."),
}

# Non-English notes (~5%): one sentence per category and language.
FOREIGN_CLAUSES: dict[str, dict[str, str]] = {
    "es": {
        "product": "Les faltaba {feature} y no lo tenemos.",
        "pricing": "El precio de la renovación era demasiado alto.",
        "service": "El soporte tardaba días en responder.",
        "success_process": "La implementación nunca terminó y casi nadie usaba la herramienta.",
        "competitor": "Se van con {competitor}.",
        "relationship": "Nuestro contacto principal dejó la empresa.",
        "company": "La empresa fue adquirida por otro grupo.",
        "needs": "Ya no necesitan el producto, el proyecto terminó.",
        "involuntary": "El pago falló varias veces y no actualizaron la tarjeta.",
        "unknown": "No quisieron dar un motivo.",
    },
    "de": {
        "product": "Ihnen fehlte {feature}, das war ein Ausschlusskriterium.",
        "pricing": "Der Preis bei der Verlängerung war zu hoch.",
        "service": "Der Support hat viel zu langsam reagiert.",
        "success_process": "Das Onboarding wurde nie abgeschlossen, die Nutzung blieb niedrig.",
        "competitor": "Sie wechseln zu {competitor}.",
        "relationship": "Unser Ansprechpartner hat das Unternehmen verlassen.",
        "company": "Die Firma wurde übernommen.",
        "needs": "Sie brauchen das Produkt nicht mehr, das Projekt ist beendet.",
        "involuntary": "Die Zahlung ist mehrfach fehlgeschlagen.",
        "unknown": "Kein Grund angegeben.",
    },
    "fr": {
        "product": "Il leur manquait {feature}.",
        "pricing": "Le prix du renouvellement était trop élevé.",
        "service": "Le support mettait des jours à répondre.",
        "success_process": "L'intégration n'a jamais abouti et l'adoption est restée faible.",
        "competitor": "Ils passent chez {competitor}.",
        "relationship": "Notre interlocuteur principal a quitté l'entreprise.",
        "company": "L'entreprise a été rachetée.",
        "needs": "Ils n'ont plus besoin du produit, le projet est terminé.",
        "involuntary": "Le paiement a échoué plusieurs fois.",
        "unknown": "Aucune raison donnée.",
    },
    "pt": {
        "product": "Faltava {feature} e nós ainda não temos.",
        "pricing": "O preço da renovação ficou caro demais.",
        "service": "O suporte demorava dias para responder.",
        "success_process": "A implantação nunca terminou e quase ninguém usava.",
        "competitor": "Estão migrando para a {competitor}.",
        "relationship": "Nosso principal contato saiu da empresa.",
        "company": "A empresa foi adquirida.",
        "needs": "Não precisam mais do produto, o projeto acabou.",
        "involuntary": "O pagamento falhou várias vezes.",
        "unknown": "Não informaram o motivo.",
    },
}
FOREIGN_OPENERS = {
    "es": "Entrevista de salida con {contact}.",
    "de": "Exit-Interview mit {contact}.",
    "fr": "Entretien de départ avec {contact}.",
    "pt": "Entrevista de saída com {contact}.",
}

# --- cancellation requests, support cases, activities, NPS ---------------------------------------

CANCELLATION_SUBJECTS = (
    "Cancellation request", "Please cancel our subscription", "Notice of non-renewal",
    "Cancel account at end of term", "Termination notice",
)
CANCELLATION_MESSAGES = (
    "Hi, we would like to cancel our subscription at the end of the current term. {reason}",
    "This is our formal notice that we will not renew. {reason}",
    "Please process our cancellation. {reason} Let us know how to export our data.",
    "We have decided not to continue. {reason}",
)
SUPPORT_SUBJECTS = (
    "Dashboard not loading", "Sync failing since update", "Cannot add new user", "Export times out",
    "Question about API limits", "Login issue with SSO", "Invoice question", "Data mismatch in report",
    "How to configure alerts", "Integration error 500",
)
SUPPORT_CASE_TYPES = ("Problem", "Question", "Feature Request")
ORDINARY_TASKS = (("Call", "Call"), ("Email", "Email"), ("QBR", "Task"), ("Send product update", "Email"))

# Offboarding checklist activities: step -> subjects a CSM might use (matches the default
# `checklist_activity_patterns`: acknowledg / save call / data export / exit interview / follow-up).
CHECKLIST_SUBJECTS = {
    "acknowledge": ("Acknowledge cancellation request", "Acknowledgement call"),
    "save_assessment": ("Save call", "Save call - retention offer"),
    "data_handover": ("Data export delivered", "Send data export"),
    "exit_interview": ("Exit interview",),
    "followup": ("30-day follow-up", "Follow-up with former customer"),
}
HUBSPOT_TASK_TYPES = {
    "acknowledge": "EMAIL", "save_assessment": "CALL", "data_handover": "TODO",
    "exit_interview": "CALL", "followup": "EMAIL",
}

NPS_COMMENTS_HIGH = ("Great tool, the team loves it.", "Very happy with support.", "", "Solid product.")
NPS_COMMENTS_MID = ("Does the job.", "Some features missing.", "", "OK, a bit pricey.")
NPS_COMMENTS_LOW = (
    "Support is too slow.", "Too expensive for what we get.", "Still no SSO?", "We barely use it.",
    "Considering alternatives.", "",
)

ORDINARY_NOTES = (
    "QBR: reviewed usage, team is happy with the new dashboards.",
    "Call notes: discussed roadmap and upcoming API changes.",
    "Renewal prep: budget approved, no concerns raised.",
    "Training session held for 6 new users.",
)
