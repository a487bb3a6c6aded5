"use strict"; // the outbreak twin page (filled in next)
