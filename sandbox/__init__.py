"""Sandbox CRMs: loopback HTTP servers that answer the real Salesforce REST and HubSpot CRM APIs."""
