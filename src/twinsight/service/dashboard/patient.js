"use strict"; // the patient twin page (filled in next)
